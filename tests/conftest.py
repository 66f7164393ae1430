"""Shared fixtures: the path of the real MovieLens sample and service checks."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from recommender import cache_keys

REPO = Path(__file__).resolve().parent.parent
ML_LATEST_SMALL = Path(os.environ.get("ML_LATEST_SMALL", REPO.parent / "shared" / "data" / "ml-latest-small"))
IN_CI = os.environ.get("CI", "").lower() == "true"


# Tests marked so run for seconds to minutes each: real trainings, Celery workers, Chromium, fuzzing.
HEAVY_MARKS = {"slow", "integration", "browser", "schemathesis"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis operation a node id of its own, then put the files with heavy tests first.

    Under pytest 9 schemathesis builds every operation's item with the test function's bare node
    id; pytest-xdist schedules by node id, so it ran one operation of the sixteen and dropped the
    rest without a word. The operation goes in the id's brackets, as a parametrized test's would.

    Under pytest-xdist, `make test` hands out whole files in this order (--no-loadscope-reorder):
    the long ones first, so that the many short files even out the two workers at the end rather
    than one worker running a long file alone while the other has finished. A worker runs each
    file it is given whole, so this breaks no more of pytest-django's order (database tests, then
    transactional ones) than xdist already does; one process (-n 0) keeps that order.
    """
    from schemathesis.pytest.plugin import SchemathesisFunction

    for item in items:
        if isinstance(item, SchemathesisFunction) and item.operation_label and item._id.params is None:
            item._id = item._id.with_params(item.operation_label)

    if os.environ.get("PYTEST_XDIST_WORKER"):
        heavy = {item.path for item in items if HEAVY_MARKS & {mark.name for mark in item.iter_markers()}}
        items.sort(key=lambda item: item.path not in heavy)  # stable: the collection order otherwise


def need(condition: bool, why: str) -> None:
    """Skip locally when a service or data set is missing; in CI, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI needs {why}")
    pytest.skip(f"needs {why}")


@pytest.fixture
def ml_latest_small() -> Path:
    need((ML_LATEST_SMALL / "ratings.csv").exists(), f"the MovieLens sample at {ML_LATEST_SMALL}")
    return ML_LATEST_SMALL


@pytest.fixture
def bob(db):
    """A user who has rated nothing (tests/catalogue.py)."""
    from tests.catalogue import user_create

    return user_create("bob")


@pytest.fixture
def carol(db):
    """A user who must never see, nor change, alice's ratings."""
    from tests.catalogue import user_create

    return user_create("carol")


@pytest.fixture
def postgres(settings) -> None:
    """For tests that must run on PostgreSQL (COPY, exact counts at scale)."""
    from django.db import connection

    need(connection.vendor == "postgresql", "DATABASE_URL pointing at PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """REDIS_URL, checked to answer."""
    url = os.environ.get("REDIS_URL", "")
    need(bool(url), "REDIS_URL pointing at a running Redis")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.ConnectionError:
        need(False, f"Redis answering at {url}")
    return url


def lists_forget(client: redis.Redis, prefix: str) -> None:
    """Delete every key of the lists database under the prefix."""
    for key in client.scan_iter(cache_keys.ListsKeys(prefix).every_key()):
        client.delete(key)


@pytest.fixture
def lists_on_redis(settings, redis_url) -> Iterator[redis.Redis]:
    """The lists database on the real Redis, under a key prefix of this test's own that the settings
    name; yields a client. Every key under the prefix goes with the test."""
    settings.RECOMMENDER_LISTS_URL = redis_url
    settings.RECOMMENDER_LISTS_PREFIX = prefix = f"test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    yield client
    lists_forget(client, prefix)


@pytest.fixture
def redis_cache(settings):
    """The default cache on Redis, as every web process shares it in production (app tests
    run on locmem, where a token lookup is never remembered). Its keys go with the test."""
    from django.core.cache import caches

    need(bool(settings.REDIS_URL), "REDIS_URL (the shared cache)")
    settings.CACHES = {
        **settings.CACHES,  # the process's own fragments cache stays
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": urlunsplit(urlsplit(settings.REDIS_URL)._replace(path="/1")),
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        },
    }
    yield caches["default"]
    caches["default"].delete_pattern("*")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Iterator[None]:
    """pytest-django's test database, with no other session left on it when it is dropped.

    Django keeps a connection per context, and code that runs in a context of its own (Playwright's
    sync API, async_to_sync) can open one that the teardown's context never closes: the drop then
    fails with "database ... is being accessed by other users".
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def trained_run(django_db_setup, django_db_blocker, tmp_path_factory):
    """The two-tastes world trained once for the session (seed 42); tests.trained.install() copies it."""
    from tests.trained import train_once

    with django_db_blocker.unblock():
        return train_once(directory=tmp_path_factory.mktemp("trained"), seed=42)


@pytest.fixture(scope="session")
def other_trained_run(django_db_setup, django_db_blocker, tmp_path_factory):
    """The same world trained with another seed: a second model whose picks and stars differ."""
    from tests.trained import train_once

    with django_db_blocker.unblock():
        return train_once(directory=tmp_path_factory.mktemp("trained"), seed=7)


@pytest.fixture
def limits_fresh() -> Iterator[None]:
    """An empty cache and no in-process login or reset counts, before and after the test."""
    from django.core.cache import cache

    from accounts import login_limit

    cache.clear()
    login_limit._local.clear()
    yield
    cache.clear()
    login_limit._local.clear()
