"""/healthz while the active version's files are corrupt: degraded, logged once, and healed when the
files come back (issue 15, item 9)."""

import logging
import shutil
import time

import pytest

from recommender.engine.factors import ArtifactError, save_factors
from recommender.models import ModelVersion
from recommender.services import factors_cache
from recommender.services.versions import version_activate
from tests.engine.conftest import random_factors

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    settings.REDIS_URL = ""
    factors_cache.forget()
    yield
    factors_cache.forget()


@pytest.fixture
def active(tmp_path) -> ModelVersion:
    path = save_factors(random_factors(), tmp_path / "v")
    return ModelVersion.objects.create(preset="test", state="active", is_active=True, artifact_path=str(path))


def _corrupt(version: ModelVersion, keep: object) -> None:
    path = version.artifact_path
    shutil.copy(path, str(keep))
    with open(path, "r+b") as file:
        file.seek(200)
        file.write(b"\x00" * 64)


def _next_check() -> None:
    time.sleep(factors_cache.ACTIVE_CHECK_SECONDS + 0.05)


def test_a_loadable_model_is_ok(client, active):
    body = client.get("/healthz").json()
    assert body["model"] == "ok" and body["model_version"] == active.pk and body["status"] == "ok"


def test_corrupt_files_of_the_active_version_are_reported_degraded(client, active, tmp_path):
    _corrupt(active, tmp_path / "good.npz")
    response = client.get("/healthz")
    # A load balancer keeps the process (pages still answer, with popular picks) ...
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "unloadable" and body["status"] == "degraded"
    assert body["model_version"] == active.pk
    # ... and monitoring gets a failing status.
    assert client.get("/healthz?strict=1").status_code == 503


def test_files_corrupted_after_they_were_loaded_are_noticed(client, active, tmp_path):
    assert client.get("/healthz").json()["model"] == "ok"
    _corrupt(active, tmp_path / "good.npz")
    _next_check()
    assert client.get("/healthz").json()["model"] == "unloadable"


def test_the_failure_is_logged_once_per_change_not_once_a_second(client, active, tmp_path, caplog):
    _corrupt(active, tmp_path / "good.npz")
    with caplog.at_level(logging.INFO, logger="recommender.services.factors_cache"):
        for _ in range(3):
            assert factors_cache.active_factors() is None
            _next_check()
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(failures) == 1
        assert str(active.pk) in failures[0].getMessage()
        assert failures[0].exc_info is None  # one line, not a traceback a second


def test_restored_files_heal_the_model_and_clear_the_failed_activation_message(client, active, tmp_path):
    _corrupt(active, tmp_path / "good.npz")
    with pytest.raises(ArtifactError):
        version_activate(version=active)
    assert ModelVersion.objects.get(pk=active.pk).error.startswith("not activated")
    assert client.get("/healthz").json()["model"] == "unloadable"
    shutil.copy(str(tmp_path / "good.npz"), active.artifact_path)
    _next_check()
    body = client.get("/healthz").json()
    assert body["model"] == "ok" and body["status"] == "ok"
    assert ModelVersion.objects.get(pk=active.pk).error == ""
