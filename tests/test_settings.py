"""Settings come from the environment; production refuses to start without a secret."""

import os
import subprocess
import sys

from tests.conftest import REPO


def _settings(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}}
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); {expr}"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _settings({"DEBUG": "false"}, "pass")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_runs_on_embedded_defaults_with_nothing_set(tmp_path):
    expr = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = _settings({"DEBUG": "true", "VAR_DIR": str(tmp_path)}, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_it_uses_postgres_and_redis_when_their_urls_are_set():
    expr = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['LOCATION'], s.CELERY_BROKER_URL, "
        "s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['OPTIONS']['connect_timeout'])"
    )
    env = {
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://u@db:5432/movies",
        "REDIS_URL": "redis://cache:6379/0",
    }
    result = _settings(env, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://cache:6379/1",
        "redis://cache:6379/0",
        "False",
        "5",  # a database host that drops packets fails the connect in seconds
    ]


def test_a_malformed_boolean_names_the_variable():
    result = _settings({"DEBUG": "maybe"}, "pass")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
