"""Explore data (map, clusters, biases) computed once per version, read from a cached file."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from recommender import services
from recommender.services import explore
from tests.conftest import REPO
from tests.trained import install
from tests.worlds import FAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(two_tastes, trained_run):
    explore.forget()
    yield install(trained_run, publish=False)  # as train_version leaves it
    explore.forget()


def test_training_writes_the_explore_file_beside_the_factors(version):
    path = Path(version.artifact_path)
    directory = path if path.is_dir() else path.parent
    data = json.loads((directory / explore.FILENAME).read_text())
    assert data["version"] == version.pk
    assert data["points"] and data["clusters"] and data["likes"] and data["dislikes"]
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for _, x, y, _ in data["points"])


def test_every_mapped_movie_belongs_to_a_named_cluster(version):
    data = explore.explore_for(version_id=version.pk, artifact_path=version.artifact_path)
    assert data is not None
    assert all(c.name for c in data.clusters)
    assert all(movie_id in data.cluster_of for movie_id, *_ in data.points)


def test_the_loader_reads_the_file_once_per_version(version, monkeypatch):
    first = explore.explore_for(version_id=version.pk, artifact_path=version.artifact_path)
    monkeypatch.setattr(explore, "_parse", lambda *a: pytest.fail("read twice"))
    assert explore.explore_for(version_id=version.pk, artifact_path=version.artifact_path) is first


def test_a_version_without_the_file_has_no_explore_data(version):
    path = Path(version.artifact_path)
    (path if path.is_dir() else path.parent).joinpath(explore.FILENAME).unlink()
    explore.forget()
    assert explore.explore_for(version_id=version.pk, artifact_path=version.artifact_path) is None


@pytest.mark.slow
def test_a_failure_in_the_explore_step_does_not_fail_training(two_tastes, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(explore, "explore_compute", broken)
    v = services.version_create(overrides=FAST)
    services.train_version(version=v)
    v.refresh_from_db()
    assert v.artifact_path
    assert explore.explore_for(version_id=v.pk, artifact_path=v.artifact_path) is None


def test_the_command_recomputes_a_versions_file(version):
    path = Path(version.artifact_path)
    (path if path.is_dir() else path.parent).joinpath(explore.FILENAME).unlink()
    out = StringIO()
    call_command("explore_refresh", model_version=version.pk, stdout=out)
    assert f"v{version.pk}" in out.getvalue()
    assert explore.explore_for(version_id=version.pk, artifact_path=version.artifact_path) is not None


def test_the_explore_service_does_not_import_tensorflow():
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "
        "import recommender.services.explore; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
