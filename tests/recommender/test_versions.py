"""Training, activating and retiring model versions on a small two-taste world."""

from datetime import datetime
from pathlib import Path

import pytest

from movies.models import Rating
from recommender import dispatch, services
from recommender.engine.factors import ArtifactError
from recommender.models import ModelVersion
from recommender.snapshot import snapshot_read
from tests.trained import install

pytestmark = pytest.mark.django_db

FAST = {"epochs": 4, "embedding_dim": 8, "rating_dim": 4, "jit": False}  # XLA compiles longer than it saves here


def _trained(**overrides) -> ModelVersion:
    version = services.version_create(preset="default", overrides={**FAST, **overrides})
    dispatch.version_train_and_publish(version=version, in_process=True)
    version.refresh_from_db()
    return version


def _trained_unpublished(preset: str | None = None) -> ModelVersion:
    """Trained by the training service alone, as the row it leaves."""
    version = services.version_create(preset=preset, overrides=FAST)
    services.train_version(version=version)
    version.refresh_from_db()
    return version


@pytest.mark.slow
def test_training_records_metrics_history_and_an_artefact_then_activates(two_tastes):
    version = _trained()
    assert version.state == ModelVersion.State.ACTIVE and version.is_active
    assert version.n_ratings == Rating.objects.count()
    assert version.n_users == 40 and version.n_movies == 40
    assert len(version.history) == version.epochs >= 1
    assert {"epoch", "loss", "val_rmse", "val_ndcg", "seconds"} <= set(version.history[0])
    assert Path(version.artifact_path).is_file()
    assert version.metrics["val_rmse"] is None or version.metrics["val_rmse"] > 0


def test_a_second_version_cannot_start_while_one_runs(two_tastes):
    first = services.version_create()
    with pytest.raises(services.AlreadyRunning) as raised:
        services.version_create()
    assert raised.value.version == first


def test_ten_retrain_requests_queue_one_version(two_tastes, django_capture_on_commit_callbacks, mocker, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    delay = mocker.patch("recommender.tasks.train_version.delay")
    with django_capture_on_commit_callbacks(execute=True):
        results = [dispatch.retrain_request() for _ in range(10)]
    created = [v for v, was_created in results if was_created]
    assert len(created) == 1
    assert {v.pk for v, _ in results} == {created[0].pk}
    delay.assert_called_once_with(created[0].pk)


def test_activating_a_corrupt_artefact_is_refused_and_the_active_version_stays(two_tastes, trained_run):
    first = install(trained_run)
    second = install(trained_run, publish=False)
    path = Path(second.artifact_path)
    path.write_bytes(path.read_bytes()[:-100])  # truncated on disk
    with pytest.raises(ArtifactError):
        services.version_activate(version=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_active
    assert not second.is_active
    assert "not activated" in second.error


def test_rolling_back_makes_the_older_version_active_again(two_tastes, trained_run):
    first = install(trained_run)
    second = install(trained_run)
    assert second.is_active
    services.version_activate(version=first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_active and first.state == ModelVersion.State.ACTIVE
    assert not second.is_active and second.state == ModelVersion.State.READY


def test_a_cancelled_version_stops_and_keeps_no_files(two_tastes, mocker):
    version = services.version_create(overrides={**FAST, "epochs": 50, "patience": 50})

    def cancel_after_first_epoch(report):
        services.version_cancel(version=version)

    with pytest.raises(services.Cancelled):
        services.train_version(version=version, on_epoch=cancel_after_first_epoch)
    version.refresh_from_db()
    assert version.state == ModelVersion.State.CANCELLED
    assert len(version.history) < 50
    assert not services.versions.artifact_dir(version).exists()


def test_training_without_ratings_fails_clearly(db):
    version = services.version_create()
    with pytest.raises(services.NoTrainingData):
        services.train_version(version=version)
    version.refresh_from_db()
    assert version.state == ModelVersion.State.FAILED
    assert "no ratings" in version.error


def test_pruning_keeps_the_newest_versions_and_the_active_one(two_tastes, settings, trained_run):
    versions = [install(trained_run) for _ in range(3)]
    services.version_activate(version=versions[0])
    pruned = services.versions_prune(keep=1)
    assert pruned == [versions[1].pk]
    for version in versions:
        version.refresh_from_db()
    assert versions[0].artifact_path and versions[2].artifact_path
    assert versions[1].artifact_path == ""


@pytest.mark.slow
def test_the_snapshot_time_is_kept_so_later_ratings_are_folded_in(two_tastes):
    version = _trained()
    _, factors = services.active_factors()
    assert datetime.fromisoformat(factors.metadata["snapshot_at"]) == version.started_at


@pytest.mark.slow
def test_the_auto_preset_resolves_to_the_one_for_the_data_size(two_tastes):
    version = _trained_unpublished(preset="auto")
    assert version.preset == "default"  # a few hundred ratings: the small-data preset


def test_an_unknown_preset_fails_the_version_with_the_known_ones(two_tastes):
    version = services.version_create(preset="fastest")
    with pytest.raises(ValueError):
        services.train_version(version=version)
    version.refresh_from_db()
    assert version.state == ModelVersion.State.FAILED
    assert "unknown preset 'fastest'" in version.error and "tutorial" in version.error


@pytest.mark.slow
def test_a_version_keeps_its_training_data_and_its_protocol_metrics(two_tastes, settings):
    settings.RECOMMENDER_PROTOCOL_MAX_RATINGS = 1_000_000
    version = _trained_unpublished()
    assert version.metrics["protocols"] == services.versions.PROTOCOLS_PENDING  # measured once live
    services.version_protocols(version=version)
    version.refresh_from_db()
    snapshot = snapshot_read(services.versions.artifact_dir(version) / "ratings.parquet")
    assert len(snapshot) == version.n_ratings == Rating.objects.count()
    assert version.metrics["snapshot_bytes"] > 0
    for key in ("R_rmse", "R_mae", "T_ndcg", "T_precision", "T_recall", "T_coverage", "T_ndcg_most_popular"):
        assert isinstance(version.metrics[key], float), key
    assert 0 < version.metrics["R_rmse"] < 2.5
    assert version.metrics["T_ndcg"] > version.metrics["T_ndcg_most_popular"]


def test_protocols_are_skipped_and_said_so_above_the_limit(two_tastes, settings, trained_run):
    settings.RECOMMENDER_PROTOCOL_MAX_RATINGS = 10
    version = install(trained_run, publish=False)  # as training leaves it: its figures pending
    assert version.metrics["protocols"] == services.versions.PROTOCOLS_PENDING
    services.version_protocols(version=version)
    version.refresh_from_db()
    assert version.metrics["protocols"].startswith("skipped:")
    assert "R_rmse" not in version.metrics
