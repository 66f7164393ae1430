"""The project package: settings, URLs, the Celery app (loaded here so tasks find it) and process entry points."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
