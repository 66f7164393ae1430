"""One log format for every process, with the id of the request or task each line belongs to.

    2026-11-29 03:00:00,123 INFO movies.views [req=3f2a...] message
    2026-11-29 03:00:01,456 INFO recommender.tasks [task=8c1d...] message

Django (settings.LOGGING), gunicorn (config/gunicorn.py) and Celery (config/celery.py)
all use `logging_config`. The ids live in context variables: config/request_id.py sets
the request's, Celery's task signals the task's; `ContextFilter` writes them into every
record a handler emits, whatever logger it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)

# gunicorn logs each request after Django has finished with it; the id is then only in
# the response's headers, which gunicorn passes as the record's arguments.
_GUNICORN_RESPONSE_ID = "{x-request-id}o"


class ContextFilter(logging.Filter):
    """Adds `context` to every record: req=<id>, task=<id> (or both), or - outside both."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id.get()
        if rid is None and isinstance(record.args, Mapping):
            rid = record.args.get(_GUNICORN_RESPONSE_ID)
        tid = task_id.get()
        # Both when a request runs a task in process (no broker: tasks run eagerly).
        parts = [f"req={rid}"] if rid else []
        if tid:
            parts.append(f"task={tid}")
        record.context = " ".join(parts) or "-"
        return True


def logging_config(level: str = "INFO", *, gunicorn: bool = False) -> dict[str, Any]:
    """A logging.config.dictConfig dict: one handler on the root logger, everything propagates to it."""
    loggers: dict[str, Any] = {
        # Django's own default config gives "django" a DEBUG-only console handler: one handler is enough.
        "django": {"handlers": [], "level": level, "propagate": True},
    }
    if gunicorn:
        loggers["gunicorn.error"] = {"handlers": [], "level": level, "propagate": True}
        loggers["gunicorn.access"] = {"handlers": [], "level": "INFO", "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.log_context.ContextFilter"}},
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
