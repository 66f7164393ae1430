"""A task's log lines carry its id; lines outside a task do not."""

import logging
import re

import pytest

from config.celery import app
from recommender.tasks import lists_publish
from tests.deploy.logs import captured_lines
from tests.integration.conftest import wait_for

log = logging.getLogger("tests.deploy.task")


@app.task(name="tests.deploy.log_twice")
def log_twice() -> str:
    log.info("first line of the task")
    log.warning("second line of the task")
    return "done"


def test_a_tasks_lines_carry_its_id():
    with captured_lines() as lines:
        # Run here, through Celery's tracer: the same signals fire as in a worker's child process.
        result = log_twice.apply()
        log.info("after the task")
    assert result.get() == "done"
    task_lines = [line for line in lines if "line of the task" in line]
    assert len(task_lines) == 2
    assert task_lines[0].endswith(f" INFO tests.deploy.task [task={result.id}] first line of the task"), task_lines
    assert task_lines[1].endswith(f" WARNING tests.deploy.task [task={result.id}] second line of the task")
    after = [line for line in lines if "after the task" in line]
    assert after and "[-]" in after[0]


@pytest.mark.integration
def test_a_real_workers_lines_carry_the_task_id_in_the_sites_format(start_worker):
    """A worker process logs through settings.LOGGING; the child running a task adds its id."""
    worker = start_worker(queues="celery")
    result = lists_publish.delay(999_999_999)  # no such version: the task fails and Celery logs why
    failed = re.compile(
        rf"^\S+ \S+ ERROR celery\.app\.trace \[task={result.id}\] Task recommender\.lists_publish\[{result.id}\] "
        r"raised unexpected: DoesNotExist",
        re.MULTILINE,
    )
    wait_for(lambda: failed.search(worker.output()), timeout=60, what="the task's error line", worker=worker)
    # Lines of the worker's main process, outside any task, carry no id.
    assert re.search(r"^\S+ \S+ INFO celery\.apps\.worker \[-\] .* ready\.", worker.output(), re.MULTILINE)
