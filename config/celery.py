"""The Celery app: configured from Django settings (CELERY_* names)."""

import logging.config
import os
from typing import Any

from celery import Celery, signals

from config import log_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# TensorFlow (training only) otherwise prints pages of start-up notices.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

app = Celery("movies_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _django_logging(loglevel: int | None = None, **_: Any) -> None:
    """Workers and beat log in the site's one format (settings.LOGGING), not Celery's own; `-l` sets the level."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


# Every line a task logs carries its id (config/log_context.py); signals run in the process running the task.
@signals.task_prerun.connect
def _task_started(task_id: str, **_: Any) -> None:
    log_context.task_id.set(task_id)


@signals.task_postrun.connect
def _task_finished(**_: Any) -> None:
    log_context.task_id.set(None)
