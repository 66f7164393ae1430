"""Production settings pass Django's deployment checklist; unknown hosts get 400; no debug toolbar."""

import json
import sys

from tests.security.production import run, run_python


def test_check_deploy_reports_nothing_with_production_settings():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"])
    assert result.returncode == 0, result.stdout + result.stderr
    # Only HSTS preloading's reminder is silenced, on purpose (config/settings.py says why).
    assert "System check identified no issues (1 silenced)." in result.stdout, result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_warns_about_an_insecure_setup():
    # The check is live: plain http in production is reported (so the test above can fail).
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], HTTPS="false")
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


def test_a_host_not_in_allowed_hosts_gets_400():
    code = (
        "import json; from django.test import Client; c = Client(); "
        "print(json.dumps([c.get('/accounts/login/', HTTP_HOST=h, secure=True).status_code "
        "for h in ('evil.example.com', 'movies.example.org')]))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [400, 200]


def test_there_is_no_debug_toolbar_in_production():
    code = (
        "import json; from django.conf import settings as s; from django.test import Client; "
        "r = Client().get('/__debug__/', HTTP_HOST='movies.example.org', secure=True); "
        "print(json.dumps([r.status_code, [x for x in s.INSTALLED_APPS + s.MIDDLEWARE if 'debug_toolbar' in x]]))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [404, []]


def test_debug_url_is_absent_in_the_test_settings_too(client):
    assert client.get("/__debug__/").status_code == 404
