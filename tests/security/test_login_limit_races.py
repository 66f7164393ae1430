"""The login limit under parallel guesses, and X-Forwarded-For believed only from trusted proxies
(issue 15, items 5 and 6)."""

import subprocess
import sys
import threading

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from accounts import login_limit
from accounts.login_limit import TOO_MANY, LimitedAuthenticationForm
from tests.threads import run_together

RIGHT = "a-long-correct-password"
GUESSES = 40


@pytest.fixture
def limits(settings, redis_cache):
    login_limit._local.clear()
    settings.LOGIN_LIMIT_PER_ACCOUNT = 5
    settings.LOGIN_LIMIT_PER_ADDRESS = 20
    settings.LOGIN_LIMIT_WINDOW = 900
    yield
    login_limit._local.clear()


@pytest.mark.django_db(transaction=True)
def test_forty_parallel_guesses_get_at_most_five_password_checks(limits):
    User.objects.create_user("alice", password=RIGHT)
    checked: list[int] = []
    lock = threading.Lock()
    # Made before the threads start, so that they are released into the checks themselves.
    forms = [
        LimitedAuthenticationForm(
            RequestFactory().post("/accounts/login/", REMOTE_ADDR="198.51.100.7"),
            data={"username": "alice", "password": f"wrong-{n}"},
        )
        for n in range(GUESSES)
    ]

    def guess(n: int) -> None:
        forms[n].is_valid()
        if TOO_MANY not in {e.code for e in forms[n].non_field_errors().as_data()}:
            with lock:
                checked.append(n)

    assert run_together(guess, GUESSES) == []
    assert len(checked) == 5


@pytest.mark.django_db
def test_the_right_password_after_four_failures_still_logs_in_and_resets_the_count(limits, rf):
    User.objects.create_user("alice", password=RIGHT)
    for n in range(4):
        request = rf.post("/accounts/login/", REMOTE_ADDR="198.51.100.7")
        assert not LimitedAuthenticationForm(request, data={"username": "alice", "password": f"x{n}"}).is_valid()
    request = rf.post("/accounts/login/", REMOTE_ADDR="198.51.100.7")
    assert LimitedAuthenticationForm(request, data={"username": "alice", "password": RIGHT}).is_valid()
    for n in range(5):
        request = rf.post("/accounts/login/", REMOTE_ADDR="198.51.100.7")
        form = LimitedAuthenticationForm(request, data={"username": "alice", "password": f"y{n}"})
        assert not form.is_valid()
        assert TOO_MANY not in {e.code for e in form.non_field_errors().as_data()}


def test_a_client_that_is_no_trusted_proxy_cannot_choose_its_address(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    request = rf.post("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.7")
    assert login_limit.client_address(request) == "198.51.100.7"


def test_behind_two_trusted_proxies_the_client_is_the_first_untrusted_from_the_right(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = rf.post("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9, 10.0.0.5", REMOTE_ADDR="10.0.0.1")
    assert login_limit.client_address(request) == "203.0.113.9"


def test_with_https_on_the_default_trusts_only_a_proxy_on_this_machine():
    code = "from django.conf import settings; print(','.join(settings.TRUSTED_PROXIES))"
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x" * 50, "HTTPS": "true", "PATH": "/usr/bin"}
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "127.0.0.1,::1", out.stderr


def test_a_count_of_proxies_from_the_old_setting_is_refused_at_startup():
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x" * 50, "TRUSTED_PROXIES": "1"}
    command = [sys.executable, "-c", "import django; django.setup()"]
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "TRUSTED_PROXIES" in out.stderr
