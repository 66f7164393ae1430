"""The Celery app: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# TensorFlow (training only) otherwise prints pages of start-up notices.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

app = Celery("movies_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
