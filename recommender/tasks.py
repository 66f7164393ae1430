"""Celery tasks: thin wrappers that load by id and call one service (or dispatch's recipe).

Training runs on its own queue ("training") served by a worker with one process
that is replaced after every task (`-c 1 --max-tasks-per-child 1`), so the
memory TensorFlow takes is returned. The list chunks run on the default queue.
"""

import logging
import os
import time

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import celeryd_after_setup, worker_ready
from django.conf import settings

from movies.totals import movie_totals_check
from recommender import cache_keys, dispatch, services
from recommender.models import ModelVersion
from recommender.retrain_lock import RetrainLock
from recommender.store import get_store

log = logging.getLogger(__name__)


def _lock(owner: str) -> RetrainLock:
    store = get_store()
    return RetrainLock(
        store.client if store is not None else None,
        owner,
        key=cache_keys.ListsKeys(settings.RECOMMENDER_LISTS_PREFIX).retrain_lock(),
        ttl=settings.RECOMMENDER_RETRAIN_LOCK_TTL,
    )


class TrainTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):  # type: ignore[no-untyped-def]
        """Also runs in the worker's main process when a hard time limit killed the child."""
        version = ModelVersion.objects.filter(pk=args[0]).first() if args else None
        if version is not None and (version.is_running or isinstance(exc, TimeLimitExceeded)):
            # The killed child may have recorded only its own end (a signal); say why it ended.
            # TimeLimitExceeded(60) prints as "TimeLimitExceeded(60,)": its argument is the limit.
            limit = exc.args[0] if isinstance(exc, TimeLimitExceeded) and exc.args else None
            reason = f"hard time limit of {limit} s exceeded" if isinstance(exc, TimeLimitExceeded) else str(exc)
            services.version_fail(
                version=version,
                error=f"{type(exc).__name__}: {reason}",
                replace_reason=isinstance(exc, TimeLimitExceeded),
            )
        _lock(task_id).release()


# Queue, time limits and retries come from settings (CELERY_TASK_ROUTES, CELERY_TASK_ANNOTATIONS).
@shared_task(bind=True, base=TrainTask, name="recommender.train_version")
def train_version(self: Task, version_id: int) -> int:
    version = ModelVersion.objects.get(pk=version_id)
    if not version.is_running:
        log.info("v%s is %s: nothing to train", version_id, version.state)
        return version_id
    lock = _lock(self.request.id or f"local-{version_id}")
    if not lock.acquire():
        raise self.retry(countdown=30)  # another retrain still holds the lock
    started = time.monotonic()
    try:
        dispatch.version_train_and_publish(version=version, in_process=False)
    except services.Cancelled:
        log.info("v%s cancelled", version_id)
    except Exception as exc:
        soft = _soft_limit(self)
        if soft and not isinstance(exc, SoftTimeLimitExceeded) and time.monotonic() - started >= soft:
            # The limit's exception can land inside TensorFlow's tracing, which catches it and
            # fails with an error of its own: the reason a person needs is the limit.
            services.version_fail(
                version=version,
                error=f"SoftTimeLimitExceeded: soft time limit of {soft:g} s exceeded "
                f"(it surfaced as {type(exc).__name__}: {exc})",
                replace_reason=True,
            )
        raise
    finally:
        lock.release()
    return version_id


def _soft_limit(task: Task) -> float | None:
    """The soft time limit this run had: the message's, else the task's or the worker's setting."""
    timelimit = task.request.timelimit or (None, None)
    soft = timelimit[1] or task.soft_time_limit or task.app.conf.task_soft_time_limit
    return float(soft) if soft else None


# This worker's pool size, remembered by its parent process before the pool forks.
_pool_processes = 1


@celeryd_after_setup.connect
def _pool_size_remember(sender, instance, **kwargs) -> None:  # type: ignore[no-untyped-def]
    global _pool_processes
    _pool_processes = max(1, int(instance.concurrency or 1))


@celeryd_after_setup.connect
def _list_libraries_import(sender, instance, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """Import what a list chunk reads with (pandas and pyarrow for the snapshot, scipy for the
    exclusions) once in the worker's parent, before its pool forks: each child otherwise spent
    half a second of its first chunk importing them, while the publish waited for that chunk."""
    import pyarrow.parquet  # noqa: F401
    import scipy.sparse  # noqa: F401

    import recommender.snapshot  # noqa: F401 (pandas)


def list_threads() -> int:
    """Ranking threads for one list chunk: the cores this worker's other processes leave free.

    With one process on two cores a chunk ranks on both; with one process per core, on one.
    """
    return max(1, (os.cpu_count() or 1) // _pool_processes)


@shared_task(name="recommender.lists_compute")
def lists_compute(version_id: int, start: int, stop: int) -> int:
    version = ModelVersion.objects.get(pk=version_id)
    return services.lists_compute(version=version, start=start, stop=stop, threads=list_threads())


@shared_task(name="recommender.lists_publish")
def lists_publish(version_id: int) -> int:
    version = ModelVersion.objects.get(pk=version_id)
    services.lists_publish(version=version)
    version.refresh_from_db()
    if version.metrics.get("protocols") == services.versions.PROTOCOLS_PENDING:
        version_protocols.delay(version_id)  # the figures come once the version is live
    return version_id


@shared_task(name="recommender.version_protocols")
def version_protocols(version_id: int) -> int:
    """Protocols R and T of a live version: two more trainings, on the training queue."""
    services.version_protocols(version=ModelVersion.objects.get(pk=version_id))
    return version_id


@shared_task(name="recommender.lists_failed")
def lists_failed(request, exc, traceback, version_id: int) -> None:  # type: ignore[no-untyped-def]
    services.lists_failed(version=ModelVersion.objects.get(pk=version_id), error=str(exc))


@worker_ready.connect
def training_resume(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """A training worker that starts again re-queues the retrain its killed predecessor held.

    With acks_late the message of a task whose whole worker was killed (SIGKILL,
    a lost machine) stays unacknowledged in Redis and comes back only after the
    broker's visibility timeout, hours later; meanwhile the version would stay
    "training" and block every retrain. One training worker runs at a time (the
    Procfile's trainer), so a version still marked training when it starts was
    left by a dead one. The new task waits until the dead holder's lock expires;
    the old message, when it comes back, finds the version finished and does nothing.
    """
    if "training" not in sender.app.amqp.queues.consume_from:
        return
    version = ModelVersion.objects.filter(state=ModelVersion.State.TRAINING).first()
    if version is None:
        return
    lock = _lock("")
    # The dead holder's lock frees itself within its ttl (it is no longer renewed).
    wait = max(0, lock.client.ttl(lock.key)) + 1 if lock.client is not None and lock.holder() else 0
    log.warning("v%s was left training by a worker that died: training it again in %d s", version.pk, wait)
    train_version.apply_async((version.pk,), countdown=wait)


@shared_task(name="recommender.retrain")
def retrain() -> int:
    """The nightly retrain (django-celery-beat): check every movie's rating totals, then queue a retrain.

    Rating writes keep the totals by adding deltas; the exact recount here logs and repairs
    whatever drifted (a cascade, a hand edit). The retrain is queued unless one is running.
    """
    movie_totals_check()
    version, _ = dispatch.retrain_request()
    return version.pk


@shared_task(name="recommender.impressions_flush")
def impressions_flush() -> int:
    """Scheduled every few seconds (django-celery-beat): queued impressions into the database."""
    return services.impressions_flush()


@shared_task(name="recommender.impressions_prune")
def impressions_prune() -> int:
    """Scheduled daily: impressions older than the retention are deleted."""
    return services.impressions_prune()


@shared_task(name="recommender.online_metrics_refresh")
def online_metrics_refresh() -> int:
    """Scheduled every few minutes: the online figures of the days whose windows are open."""
    return services.online_metrics_refresh()
