"""/healthz: 200 with the database, Redis and an active model version; 503 naming what failed."""

import json
import os
import subprocess
import sys

import pytest

from recommender.models import ModelVersion
from tests.conftest import REPO

pytestmark = pytest.mark.django_db


SERVICES_UP = {"database": "ok", "redis": "ok"}


@pytest.fixture
def active_version() -> ModelVersion:
    return ModelVersion.objects.create(preset="default", state="active", is_active=True)


@pytest.fixture
def on_redis(settings, redis_url, postgres):
    settings.REDIS_URL = redis_url


def test_it_answers_200_when_everything_is_fine(client, on_redis, active_version):
    response = client.get("/healthz")
    assert response.status_code == 200
    # This version has no factors file: served as no model, degraded (tests/deploy/test_health_degraded.py).
    assert response.json() == {
        **SERVICES_UP,
        "status": "degraded",
        "model_version": active_version.pk,
        "model": "unloadable",
        "degraded": ["model"],
    }
    assert response["Cache-Control"] == "no-store"


def test_it_answers_503_naming_redis_when_redis_is_unreachable(client, settings, closed_port, active_version):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["redis"].startswith("unreachable: ConnectionError")
    assert body["database"] == "ok"
    assert body["model_version"] == active_version.pk


def test_it_answers_503_when_no_model_version_is_active(client, on_redis):
    ModelVersion.objects.create(preset="default", state="ready")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        **SERVICES_UP,
        "status": "failed",
        "model_version": None,
        "model": "none",
        "failed": ["model_version"],
    }


def test_it_answers_a_load_balancer_by_ip_over_http_without_login(client, settings, on_redis, active_version):
    settings.ALLOWED_HOSTS = ["movies.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    # The rest of the site still refuses that host.
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_it_answers_503_naming_the_database_when_it_is_unreachable(closed_port, tmp_path):
    """A real refused connection, in a process of its own so this test's database stays usable.

    Also checks the check stays cheap: the process never imports TensorFlow.
    """
    code = (
        "import json, sys, django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); "
        "print(json.dumps({'status': r.status_code, 'body': r.json(), 'tf': 'tensorflow' in sys.modules}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/nothing",
        "REDIS_URL": "",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["failed"] == ["database", "model_version"]
    assert answer["body"]["database"].startswith("unreachable: OperationalError")
    assert answer["body"]["redis"] == "not configured"
    assert answer["tf"] is False
