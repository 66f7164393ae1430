"""A task's log lines carry its id; lines outside a task do not."""

import logging

from config.celery import app
from tests.deploy.logs import captured_lines

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
