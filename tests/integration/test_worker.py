"""Retraining with a real Celery worker, Redis and PostgreSQL, including the faults it must survive."""

import os
import signal
import threading

import pytest
import redis
from django.db import connection

from recommender import dispatch, services, tasks
from recommender.models import ModelVersion
from recommender.services.versions import artifact_dir
from recommender.store import get_store
from tests.integration.conftest import version_states, wait_for
from tests.integration.retrains import slow_retrain_under_way
from tests.trained import install
from tests.worlds import FAST, two_tastes_world

pytestmark = pytest.mark.integration

ACTIVE = ModelVersion.State.ACTIVE


def _active(version_id: int) -> bool:
    return ModelVersion.objects.filter(pk=version_id, state=ACTIVE, is_active=True).exists()


def test_a_retrain_runs_on_the_worker_and_publishes_every_users_list(stack, start_worker):
    users = two_tastes_world()
    worker = start_worker()
    version, created = dispatch.retrain_request(overrides=FAST)
    assert created
    wait_for(lambda: _active(version.pk), timeout=180, what="the version to become active", worker=worker)
    store = get_store()
    assert store.live_version() == version.pk
    assert store.count(version.pk) == len(users)
    # The page's service reads the published list from Redis (and shows it most stars first).
    picks = services.recommend_for(users[0], n=5)
    _, stored = store.get(users[0].pk)
    assert {p.movie.pk for p in picks} == set(stored[:5].tolist())
    # Then the trainer takes up protocols R and T (skipped here: the tests set their limit to 0).
    wait_for(
        lambda: ModelVersion.objects.get(pk=version.pk).metrics["protocols"].startswith("skipped:"),
        timeout=60,
        what="the protocols' outcome after the version went live",
        worker=worker,
    )


def test_ten_retrain_triggers_at_once_make_exactly_one_run(stack, start_worker):
    two_tastes_world()
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(10)

    def trigger() -> None:
        barrier.wait()
        try:
            version, created = dispatch.retrain_request(overrides=FAST)
            results.append((version.pk, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 10
    assert sum(created for _, created in results) == 1
    assert len({pk for pk, _ in results}) == 1
    worker = start_worker()
    version_id = results[0][0]
    wait_for(lambda: _active(version_id), timeout=180, what="the single run to finish", worker=worker)
    assert ModelVersion.objects.count() == 1
    assert worker.output().count("recommender.train_version[") >= 1
    assert worker.output().count("succeeded") >= 1


def test_a_killed_training_process_runs_again_and_publishes_one_version(stack, start_worker):
    two_tastes_world()
    worker = start_worker()
    version = slow_retrain_under_way(worker)
    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: _active(version.pk), timeout=300, what="the re-run to publish", worker=worker)
    assert "WorkerLostError" in worker.output() or "exited with 'signal 9" in worker.output()
    assert version_states() == [(version.pk, ACTIVE, True)]
    version.refresh_from_db()
    assert version.epoch == len(version.history)  # the re-run started its history afresh


@pytest.mark.parametrize("limit", ["soft", "hard"])
def test_a_time_limit_cleans_up_and_the_previous_version_stays_active(stack, start_worker, mocker, limit, trained_run):
    two_tastes_world()
    previous = install(trained_run)
    # Time limits travel in the task message: the sender's task settings count, and the
    # worker's own apply when the message has none (a hard limit alone needs both unset).
    soft, hard = (8, 60) if limit == "soft" else (None, 12)
    task = tasks.train_version
    mocker.patch.object(task, "time_limit", hard)
    mocker.patch.object(task, "soft_time_limit", soft)
    mocker.patch.object(task, "_exec_options", None)  # Celery caches the options it sends
    worker = start_worker(RECOMMENDER_TRAIN_SOFT_TIME_LIMIT=str(soft or 0), RECOMMENDER_TRAIN_TIME_LIMIT=str(hard))
    endless = {**FAST, "epochs": 100_000, "patience": 100_000}
    version, _ = dispatch.retrain_request(overrides=endless)
    wait_for(
        lambda: ModelVersion.objects.filter(pk=version.pk, state=ModelVersion.State.FAILED).exists(),
        timeout=120,
        what=f"the {limit} time limit to fail the run",
        worker=worker,
    )
    version.refresh_from_db()
    assert ("SoftTimeLimitExceeded" if limit == "soft" else "TimeLimitExceeded") in version.error
    assert not artifact_dir(version).exists()
    lock_key = f"{stack['RECOMMENDER_LISTS_PREFIX']}:retrain-lock"
    wait_for(
        lambda: redis.Redis.from_url(stack["RECOMMENDER_LISTS_URL"]).get(lock_key) is None,
        timeout=10,
        what="the lock to be released",
    )
    previous.refresh_from_db()
    assert previous.is_active and previous.state == ACTIVE
    # and the next retrain is free to run
    mocker.stopall()
    again, created = dispatch.retrain_request(overrides=FAST)
    assert created
    wait_for(lambda: _active(again.pk), timeout=180, what="the next retrain", worker=worker)
