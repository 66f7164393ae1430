"""The training task's body, its failure hook and the worker-start resume, run eagerly with the real services.

The broker is eager (tasks run here, through Celery's tracer, with their hooks); the services,
the database and, for the lock, Redis are the real ones.
"""

import os
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry, TimeLimitExceeded
from celery.signals import celeryd_after_setup

from config.celery import app as celery_app
from recommender import cache_keys, services, tasks
from recommender.models import ModelVersion
from recommender.retrain_lock import RetrainLock
from recommender.services.versions import artifact_dir, version_update
from recommender.tasks import train_version, training_resume
from tests.trained import install
from tests.worlds import FAST

pytestmark = pytest.mark.django_db

State = ModelVersion.State


@pytest.fixture
def eager(settings):
    """Tasks run in this process as soon as they are sent, as in embedded mode."""
    # Read before changing the settings: the app loads its configuration from them at first use,
    # and would otherwise restore "eager" for every later test (whose workers would then get nothing).
    saved = celery_app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


@pytest.fixture
def lock_on_redis(lists_on_redis, settings) -> RetrainLock:
    """The retrain lock on the real Redis under a key of this test's own; a lock to hold."""
    return RetrainLock(
        lists_on_redis, "another-task", key=cache_keys.ListsKeys(settings.RECOMMENDER_LISTS_PREFIX).retrain_lock()
    )


@pytest.fixture
def worker_consuming():
    """The worker_ready sender (a worker's consumer) of a worker that consumes these queues."""
    queues = celery_app.amqp.queues
    saved = queues._consume_from

    def consuming(*names: str) -> SimpleNamespace:
        queues.select(list(names))
        return SimpleNamespace(app=celery_app)

    yield consuming
    queues._consume_from = saved


def test_a_version_that_no_longer_runs_is_not_trained(eager, two_tastes):
    version = services.version_create(overrides=FAST)
    services.version_cancel(version=version)
    assert train_version.apply((version.pk,)).get() == version.pk
    version.refresh_from_db()
    assert version.state == State.CANCELLED and version.epoch == 0 and not version.artifact_path


def test_the_task_retries_while_another_retrain_holds_the_lock(eager, two_tastes, lock_on_redis):
    version = services.version_create(overrides=FAST)
    assert lock_on_redis.acquire()
    try:
        with pytest.raises(Retry) as retry:
            train_version.apply((version.pk,))
        assert retry.value.when == 30
        assert lock_on_redis.holder() == "another-task"  # not taken over, not released
    finally:
        lock_on_redis.release()
    version.refresh_from_db()
    assert version.state == State.QUEUED and version.epoch == 0


def test_a_failing_training_marks_the_version_failed_and_frees_the_lock(eager, db, lock_on_redis):
    version = services.version_create(overrides=FAST)  # no ratings at all: training fails
    result = train_version.apply((version.pk,), task_id="the-failing-task", throw=False)  # the hooks run too
    assert result.state == "FAILURE" and isinstance(result.result, services.NoTrainingData)
    version.refresh_from_db()
    assert version.state == State.FAILED and "no ratings" in version.error
    assert lock_on_redis.holder() is None


def test_on_failure_after_a_hard_time_limit_says_so_and_frees_the_lock(two_tastes, trained_run, lock_on_redis):
    """The worker's main process runs the hook when a hard limit killed the child, which could only
    record a signal; the reason becomes the limit, the files go, and the dead child's lock is freed."""
    active = install(trained_run)
    version = install(trained_run, publish=False)
    version_update(version, state=State.FAILED, error="SystemExit: signal 15")
    lock_on_redis.client.set(lock_on_redis.key, "the-killed-task", ex=60)  # no longer renewed: its holder died

    train_version.on_failure(TimeLimitExceeded(60), "the-killed-task", (version.pk,), {}, None)

    version.refresh_from_db()
    assert version.state == State.FAILED and version.error == "TimeLimitExceeded: hard time limit of 60 s exceeded"
    assert not artifact_dir(version).exists()
    assert lock_on_redis.holder() is None
    active.refresh_from_db()
    assert active.is_active


def test_on_failure_fails_a_version_still_running_and_leaves_a_finished_one_alone(two_tastes, trained_run):
    running = install(trained_run, publish=False)  # "training", as a crashed run leaves it
    train_version.on_failure(RuntimeError("out of memory"), "task-1", (running.pk,), {}, None)
    running.refresh_from_db()
    assert running.state == State.FAILED and running.error == "RuntimeError: out of memory"

    active = install(trained_run)
    train_version.on_failure(RuntimeError("late"), "task-2", (active.pk,), {}, None)
    active.refresh_from_db()
    assert active.is_active and active.error == ""


def test_a_worker_that_does_not_train_resumes_nothing(eager, two_tastes, worker_consuming):
    version = services.version_create(overrides=FAST)
    version_update(version, state=State.TRAINING, epoch=3)
    training_resume(sender=worker_consuming("celery"))
    version.refresh_from_db()
    assert version.state == State.TRAINING and version.epoch == 3


def test_a_training_worker_without_a_version_left_training_resumes_nothing(eager, two_tastes, worker_consuming):
    training_resume(sender=worker_consuming("celery", "training"))
    assert not ModelVersion.objects.exists()


@pytest.mark.slow
def test_a_training_worker_that_starts_trains_again_the_version_a_dead_one_left(eager, two_tastes, worker_consuming):
    """End to end through the task: trained afresh, lists built, active."""
    version = services.version_create(overrides=FAST)
    version_update(version, state=State.TRAINING, epoch=3, history=[{"epoch": 1}, {"epoch": 2}, {"epoch": 3}])
    training_resume(sender=worker_consuming("training"))
    version.refresh_from_db()
    assert version.is_active and version.state == State.ACTIVE
    assert version.epoch == len(version.history) >= 1  # its history started afresh
    assert services.recommend_for(two_tastes[0], n=3)[0].personal


@pytest.mark.parametrize(("processes", "threads"), [(1, 2), (2, 1), (4, 1)])
def test_a_list_chunk_ranks_on_the_cores_its_workers_other_processes_leave_free(monkeypatch, processes, threads):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tasks, "_pool_processes", 1)
    # What a worker started with `-c processes` tells its handlers before it forks the pool.
    celeryd_after_setup.send(sender="worker@test", instance=SimpleNamespace(concurrency=processes), conf=None)
    assert tasks.list_threads() == threads
