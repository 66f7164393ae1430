"""The real parts: PostgreSQL, Redis, and Celery worker processes started by the test.

Each test gets Redis databases of its own for the broker and results (flushed), a
private key prefix for the lists, and an artefact folder; workers get the same
through their environment and use the test database by its name.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from recommender.models import ModelVersion
from recommender.services import factors_cache
from tests.conftest import REPO, lists_forget, need


def _redis_dbs() -> tuple[int, int, int]:
    """The broker's, the results' and the lists' Redis databases: 10-12, then 13-15 for a second
    pytest-xdist worker, so that two workers never flush each other's queues."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    first = 10 + 3 * worker
    assert first + 2 <= 15, "Redis has databases 0-15: at most 2 pytest-xdist workers run the integration tests"
    return first, first + 1, first + 2


def _with_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _use_broker(broker: str, results: str) -> None:
    celery_app.conf.broker_url, celery_app.conf.result_backend = broker, results
    # The app pools its broker connections: drop the pools built for the previous URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def stack(transactional_db, settings, tmp_path, redis_url) -> Iterator[dict[str, str]]:
    """Settings shared by this process and its workers; yields the workers' environment."""
    need(connection.vendor == "postgresql", "DATABASE_URL pointing at PostgreSQL")
    broker, results, lists = (_with_db(redis_url, db) for db in _redis_dbs())
    for url in (broker, results):
        redis.Redis.from_url(url).flushdb()
    prefix = f"it-{uuid.uuid4().hex[:8]}"
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RECOMMENDER_LISTS_URL = lists
    settings.RECOMMENDER_LISTS_PREFIX = prefix
    # Two chunks of the two-tastes world's 40 users, so the group really fans out; no more, since the
    # worker below forks a new child (seconds) for every task.
    settings.RECOMMENDER_LIST_CHUNK = 20
    saved = (celery_app.conf.broker_url, celery_app.conf.result_backend)
    _use_broker(broker, results)
    factors_cache.forget()
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": results,
        "RECOMMENDER_LISTS_URL": lists,
        "RECOMMENDER_LISTS_PREFIX": prefix,
        "RECOMMENDER_LIST_CHUNK": "20",
        "MODEL_ARTIFACT_DIR": str(settings.MODEL_ARTIFACT_DIR),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CONN_MAX_AGE": "0",
    }
    yield env
    _use_broker(*saved)
    lists_forget(redis.Redis.from_url(lists), prefix)
    factors_cache.forget()


class Worker:
    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc = proc
        self.log = log

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def start_worker(stack, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start `celery worker` processes: one process, a new child per task, as the training worker runs."""
    workers: list[Worker] = []

    def start(queues: str = "training,celery", concurrency: int = 1, **env: str) -> Worker:
        log = tmp_path / f"worker-{len(workers)}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-c", str(concurrency),
            "--max-tasks-per-child", "1", "-P", "prefork", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-l", "info", "-n", f"test-{uuid.uuid4().hex[:6]}@%h",
        ]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=REPO, env={**stack, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(proc, log)
        workers.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in worker.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{worker.output()[-3000:]}")
            time.sleep(0.2)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, worker: Worker | None = None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    detail = f"\nworker log:\n{worker.output()[-4000:]}" if worker else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


def version_states() -> list[tuple[int, str, bool]]:
    return list(ModelVersion.objects.order_by("pk").values_list("pk", "state", "is_active"))
