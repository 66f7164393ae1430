"""HTTPS by default with DEBUG off: redirect, HSTS, secure cookies and headers; HTTPS=false turns it off."""

import json

from tests.security.production import run_python

PROBE = """
import json
from django.conf import settings as s
from django.test import Client
c = Client()
plain = c.get("/accounts/login/?next=/me/ratings/", HTTP_HOST="movies.example.org")
secure = c.get("/accounts/login/", HTTP_HOST="movies.example.org", secure=True)
proxied = c.get("/accounts/login/", HTTP_HOST="movies.example.org", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "secure": [secure.status_code, dict(secure.headers), secure.cookies["csrftoken"]["secure"]],
    "proxied": proxied.status_code,
    "settings": {k: getattr(s, k) for k in (
        "HTTPS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_HTTPONLY", "SECURE_PROXY_SSL_HEADER",
    )},
}))
"""


def _probe(**env: str) -> dict:
    result = run_python(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_and_sends_hsts_and_secure_cookies():
    answer = _probe()
    assert answer["plain"] == [301, "https://movies.example.org/accounts/login/?next=/me/ratings/"]
    status, headers, csrf_cookie_secure = answer["secure"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert csrf_cookie_secure is True
    # Behind the TLS proxy, its X-Forwarded-Proto says the request came over https.
    assert answer["proxied"] == 200
    assert answer["settings"]["SESSION_COOKIE_SECURE"] is True
    assert answer["settings"]["SESSION_COOKIE_HTTPONLY"] is True
    assert answer["settings"]["SECURE_HSTS_PRELOAD"] is False


def test_https_false_serves_plain_http_without_hsts_or_secure_cookies():
    answer = _probe(HTTPS="false")
    assert answer["plain"] == [200, None]
    assert "Strict-Transport-Security" not in answer["secure"][1]
    assert answer["secure"][2] == ""
    settings = answer["settings"]
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["CSRF_COOKIE_SECURE"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    # Without the proxy nobody may claim https by a header.
    assert settings["SECURE_PROXY_SSL_HEADER"] is None


def test_debug_on_defaults_to_plain_http():
    assert _probe(DEBUG="true")["settings"]["HTTPS"] is False


def test_the_forwarded_proto_header_is_ignored_when_not_behind_a_proxy():
    answer = _probe(TRUST_X_FORWARDED_PROTO="false")
    assert answer["proxied"] == 301
    assert answer["settings"]["SECURE_PROXY_SSL_HEADER"] is None


def test_a_malformed_https_switch_names_the_variable():
    result = run_python("", HTTPS="sometimes")
    assert result.returncode != 0
    assert "HTTPS='sometimes' is not a boolean" in result.stderr
