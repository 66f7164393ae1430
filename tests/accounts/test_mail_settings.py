"""The mail settings read from EMAIL_URL or the EMAIL_* variables (config/mail.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.mail import SMTP, mail_settings, mail_settings_from_url

EMAIL_VARIABLES = [
    "EMAIL_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
]


@pytest.fixture(autouse=True)
def no_mail_environment(monkeypatch):
    for name in EMAIL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_an_smtp_url_gives_host_port_credentials_and_starttls():
    found = mail_settings_from_url("smtp://mailer:p%40ss%3Aword@mail.example.org:2525")
    assert found == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss:word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_smtps_is_tls_from_the_first_byte_on_465_and_a_plain_relay_can_be_asked_for():
    tls = mail_settings_from_url("smtps://u:p@mail.example.org")
    assert (tls["EMAIL_PORT"], tls["EMAIL_USE_SSL"], tls["EMAIL_USE_TLS"]) == (465, True, False)
    plain = mail_settings_from_url("smtp://relay.internal?tls=false")
    assert (plain["EMAIL_PORT"], plain["EMAIL_USE_SSL"], plain["EMAIL_USE_TLS"]) == (25, False, False)
    assert plain["EMAIL_HOST_USER"] == "" and plain["EMAIL_HOST_PASSWORD"] == ""


def test_console_file_and_locmem_urls_name_their_backends():
    assert mail_settings_from_url("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    found = mail_settings_from_url("file:///var/mail/movies")
    assert found["EMAIL_BACKEND"].endswith("filebased.EmailBackend") and found["EMAIL_FILE_PATH"] == "/var/mail/movies"
    assert mail_settings_from_url("locmem://")["EMAIL_BACKEND"].endswith("locmem.EmailBackend")


@pytest.mark.parametrize(
    ("url", "says"),
    [("smpt://x@y", "unknown scheme"), ("smtp://", "needs a host"), ("file://", "needs a folder")],
)
def test_a_wrong_url_fails_at_start_with_what_is_wrong(url, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        mail_settings_from_url(url)


def test_the_email_host_variables_are_read_without_a_url(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST", "smtp.example.org")
    monkeypatch.setenv("EMAIL_HOST_USER", "site")
    monkeypatch.setenv("EMAIL_HOST_PASSWORD", "secret")
    monkeypatch.setenv("EMAIL_USE_SSL", "true")
    monkeypatch.setenv("DEFAULT_FROM_EMAIL", "Movies <hello@example.org>")
    found = mail_settings(debug=False)
    assert found["EMAIL_BACKEND"] == SMTP
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"], found["EMAIL_USE_SSL"], found["EMAIL_USE_TLS"]) == (
        "smtp.example.org",
        465,
        True,
        False,
    )
    assert found["DEFAULT_FROM_EMAIL"] == found["SERVER_EMAIL"] == "Movies <hello@example.org>"


def test_the_url_wins_over_the_separate_variables(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST", "smtp.example.org")
    monkeypatch.setenv("EMAIL_URL", "console://")
    assert mail_settings(debug=False)["EMAIL_BACKEND"].endswith("console.EmailBackend")


def test_with_nothing_set_debug_prints_mails_and_production_uses_a_local_relay():
    assert mail_settings(debug=True)["EMAIL_BACKEND"].endswith("console.EmailBackend")
    production = mail_settings(debug=False)
    assert (production["EMAIL_BACKEND"], production["EMAIL_HOST"], production["EMAIL_PORT"]) == (SMTP, "localhost", 25)
