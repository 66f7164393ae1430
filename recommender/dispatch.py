"""The one place that sends the recommender's work to Celery (tasks, chords) or runs it in this process.

Arrows run one way: views, the API, admin, commands and tasks call this module; it calls the
services, which never dispatch work themselves. Tasks are named by their Celery names, not
imported, so recommender.tasks can import this module without a cycle.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from celery import chain, chord, current_app, group
from django.conf import settings
from django.db import IntegrityError, transaction

from recommender import services
from recommender.models import ModelVersion
from recommender.services.versions import State, version_artifact_check, version_update
from recommender.store import get_store

log = logging.getLogger(__name__)

TRAIN_TASK = "recommender.train_version"
LISTS_COMPUTE_TASK = "recommender.lists_compute"
LISTS_PUBLISH_TASK = "recommender.lists_publish"
LISTS_FAILED_TASK = "recommender.lists_failed"
IMPRESSIONS_FLUSH_TASK = "recommender.impressions_flush"
ONLINE_METRICS_TASK = "recommender.online_metrics_refresh"
HOME_SECTION_REFRESH_TASK = "movies.home_section_refresh"
MOVIE_SECTION_REFRESH_TASK = "movies.movie_section_refresh"


def _task(name: str):  # type: ignore[no-untyped-def]
    """The registered Celery task of this name. A web process has not loaded the apps' tasks
    modules (Celery's autodiscovery waits for a worker to start): load them on first use."""
    app = current_app
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def retrain_request(*, preset: str | None = None, overrides: dict | None = None) -> tuple[ModelVersion, bool]:
    """Queue a retrain on the training queue unless one is already queued or running.

    Returns (version, created): the new queued version, or the running one.
    """
    try:
        version = services.version_create(preset=preset, overrides=overrides)
    except services.AlreadyRunning as exc:
        return exc.version, False
    transaction.on_commit(lambda: training_start(version.pk))
    return version, True


def training_start(version_id: int) -> None:
    """Send a queued version to the training queue, or without a broker train it in a process of its own."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        _task(TRAIN_TASK).delay(version_id)
        return
    # No broker (embedded mode): a process of its own, so that the web process that
    # asked never loads TensorFlow and the request returns at once.
    log_path = Path(settings.VAR_DIR) / "logs" / f"train-v{version_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py, an integer argument
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "retrain", "--run", str(version_id)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def version_train_and_publish(
    *,
    version: ModelVersion,
    in_process: bool,
    activate: bool = True,
    seed: int = 42,
    on_epoch: Callable[[dict], None] | None = None,
    evaluate_protocols: bool = True,
    on_phase: Callable[[str], None] | None = None,
) -> ModelVersion:
    """Train a queued version, then build its lists and make it live; the one recipe every caller uses.

    1. Train (services.train_version): a failure there marks the version failed; a cancel
       raises Cancelled.
    2. With `activate` off, keep the version ready (activate it later in admin).
    3. Else build every user's list (lists_build: here when `in_process`, else on the
       workers) and publish. A failure while building here marks the version failed, so it
       never stays "computing lists"; the error is raised again.
    4. Once the version is live (or ready), measure protocols R and T
       (services.version_protocols): two more trainings that the site need not wait for; here
       when the version went live here, else in a task the workers' publish step queues.
    """
    services.train_version(
        version=version, seed=seed, on_epoch=on_epoch, evaluate_protocols=evaluate_protocols, on_phase=on_phase
    )
    if not activate:
        services.version_ready(version=version)
        services.version_protocols(version=version, seed=seed, on_phase=on_phase)
        return version
    if on_phase:
        on_phase("computing every user's list ...")
    try:
        lists_build(version=version, in_process=in_process)
    except Exception as exc:
        version.refresh_from_db()
        if version.is_running:
            services.version_fail(version=version, error=f"{type(exc).__name__}: {exc}")
        raise
    version.refresh_from_db()
    # Lists built here, or no Redis to build them in: live now. Else the workers' publish task
    # queues the figures once it has made the version live (waiting here for it would hold
    # the only process of a one-process worker, the very one that has to publish).
    if version.state in (State.ACTIVE, State.READY):
        services.version_protocols(version=version, seed=seed, on_phase=on_phase)
        version.refresh_from_db()
    return version


def lists_build(*, version: ModelVersion, in_process: bool = False) -> None:
    """After training: compute every user's list, then make the version live.

    1. Mark the version "computing lists".
    2. Without Redis there are no lists to keep: activate at once (pages rank from factors).
    3. With tasks running in process (or `in_process`), compute the chunks here, then publish.
    4. Otherwise fan the chunks out as a Celery group whose callback publishes,
       so more workers finish sooner.
    """
    version_update(version, state=State.COMPUTING_LISTS)
    if get_store() is None:
        services.lists_publish(version=version)
        return
    chunks = services.list_chunks(version=version)
    if in_process or settings.CELERY_TASK_ALWAYS_EAGER:
        for start, stop in chunks:
            services.lists_compute(version=version, start=start, stop=stop)
        services.lists_publish(version=version)
        return
    header = [_task(LISTS_COMPUTE_TASK).si(version.pk, start, stop) for start, stop in chunks]
    chord(header)(_task(LISTS_PUBLISH_TASK).si(version.pk).on_error(_task(LISTS_FAILED_TASK).s(version.pk)))


def version_rollout(*, version: ModelVersion, in_process: bool = False) -> None:
    """Activate a trained version (a roll-back, or one kept back): check its file, build its lists, publish.

    Raises ArtifactError for a missing or corrupt file (the active version stays) and
    AlreadyRunning when another version is training or computing lists.
    """
    version_artifact_check(version=version)
    try:
        lists_build(version=version, in_process=in_process)
    except IntegrityError:
        running = services.running_version()
        if running is None:
            raise
        raise services.AlreadyRunning(running) from None


def experiment_start(*, challenger: ModelVersion, share: float, name: str = "", in_process: bool = False):  # type: ignore[no-untyped-def]
    """Start an A/B experiment (services.experiment_create) and build the challenger's lists.

    Until a user's challenger list is in Redis, their picks are computed from the challenger's
    factors at their visit (and stored), as on any miss. The lists are built on the workers
    (a Celery group), or here when tasks run in process; the version's state does not change.
    """
    experiment = services.experiment_create(challenger=challenger, share=share, name=name)
    if get_store() is None:
        return experiment
    chunks = services.list_chunks(version=challenger)
    if in_process or settings.CELERY_TASK_ALWAYS_EAGER:
        for start, stop in chunks:
            services.lists_compute(version=challenger, start=start, stop=stop)
    else:
        version_id = challenger.pk
        transaction.on_commit(
            lambda: group(_task(LISTS_COMPUTE_TASK).si(version_id, start, stop) for start, stop in chunks).delay()
        )
    return experiment


def experiment_promote(*, experiment, winner: ModelVersion, in_process: bool = False):  # type: ignore[no-untyped-def]
    """End an experiment and make its winner the active version.

    1. End it (services.experiment_end): every user is then served the active version.
    2. A winning challenger goes live: at once from the lists the experiment built when they
       are complete, else through a rollout that builds them (version_rollout).
    """
    experiment = services.experiment_end(experiment=experiment, winner=winner)
    if winner.is_active:
        return experiment
    try:
        services.lists_publish(version=winner)
    except services.ListsIncomplete:
        version_rollout(version=winner, in_process=in_process)
    return experiment


def online_refresh() -> None:
    """Flush queued impressions and recount the online figures: on a worker, or here without one."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        services.impressions_flush()
        services.online_metrics_refresh()
        return
    chain(_task(IMPRESSIONS_FLUSH_TASK).si(), _task(ONLINE_METRICS_TASK).si()).delay()


def sections_refresh_in_worker() -> bool:
    """Whether stale cached sections are rendered again by a worker (a broker is set) while pages serve
    them; without one, a page renders them itself when they expire."""
    return not settings.CELERY_TASK_ALWAYS_EAGER


def home_section_refresh(*, user_id: int) -> None:
    """Have a worker render the user's home page section again (it went stale)."""
    _send_quietly(HOME_SECTION_REFRESH_TASK, user_id)


def movie_section_refresh(*, movie_id: int) -> None:
    """Have a worker render the shared parts of a movie's page again (they went stale)."""
    _send_quietly(MOVIE_SECTION_REFRESH_TASK, movie_id)


def _send_quietly(name: str, *args: int) -> None:
    # By name: a web process needs no tasks module for it. A lost message only means the stale
    # entry is asked for again a minute later, or rendered by a page when it expires: never an error page.
    try:
        current_app.send_task(name, args=list(args), retry=False, ignore_result=True)
    except Exception:
        log.warning("could not send %s%s to the workers", name, args, exc_info=True)
