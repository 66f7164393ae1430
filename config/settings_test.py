"""Test-only changes over config.settings: a fast hasher, no eager Celery."""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DEBUG", "false")
# The test client speaks plain http; tests/security/ check the https settings in production.
os.environ.setdefault("HTTPS", "false")
# A killed trainer's lock frees itself within this; tests that kill one would wait a minute for it.
os.environ.setdefault("RECOMMENDER_RETRAIN_LOCK_TTL", "10")

from config.settings import *  # noqa: F403
from config.settings import VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# pytest-xdist runs the suite in several processes at once, each a test run of its own: its own
# model folder and list keys (pytest-django gives each its own database).
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
MODEL_ARTIFACT_DIR = Path(os.environ.get("MODEL_ARTIFACT_DIR") or VAR_DIR / "test-models" / _XDIST_WORKER)
if not os.environ.get("RECOMMENDER_LISTS_PREFIX"):
    RECOMMENDER_LISTS_PREFIX = f"test-{_XDIST_WORKER or 'run'}"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Protocols R and T train a version twice more: only the tests about them turn it on.
RECOMMENDER_PROTOCOL_MAX_RATINGS = 0
# Tasks are sent to the broker (tests mock or run a real worker), never run inline.
CELERY_TASK_ALWAYS_EAGER = False
# App tests use an in-process cache; tests of Redis itself build their own client from REDIS_URL.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "fragments": CACHES["fragments"]}  # noqa: F405
# Several test runs on one machine each need their own test database.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}  # noqa: F405
# Impressions wait in the test process (recommender.services.impressions) unless a test gives them a queue.
RECOMMENDER_IMPRESSIONS_URL = ""
