"""Pages keep answering, quickly and without errors, while Redis is stopped or frozen.

The lists live in a private redis-server started by the test, so stopping and
freezing it (SIGSTOP) disturbs nobody else.
"""

import os
import signal
import time
from datetime import UTC, datetime

import pytest
import redis
from django.urls import reverse

from accounts import session_store
from config import redis_breaker
from movies.models import Rating
from recommender import services
from recommender.services import factors_cache
from recommender.store import get_store
from tests.redis_server import private_redis
from tests.timed_pages import visits_timed
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PAGES = 12
# The personal home page, a movie page, and a rating written and shown again, in turn.
VISIT = (
    lambda client, i: client.get(reverse("home")),
    lambda client, i: client.get(reverse("movies:detail", args=[21 + i % 20])),
    lambda client, i: client.post(reverse("movies:rate", args=[21 + i % 20]), {"value": "2.5"}),
)


@pytest.fixture
def site_on_private_redis(settings, tmp_path, client, trained_run):
    with private_redis(tmp_path) as (proc, url):
        settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
        settings.RECOMMENDER_LISTS_URL = url
        settings.RECOMMENDER_LISTS_PREFIX = "outage"
        factors_cache.forget()
        users = two_tastes_world()
        version = install(trained_run)  # its lists built in the private Redis, and published
        assert get_store().count(version.pk) == len(users)
        client.force_login(users[0])
        yield proc, client, users[0]
        factors_cache.forget()


def _assert_all_answered_quickly(results: list[tuple[int, float]]) -> None:
    assert all(status in (200, 302) for status, _ in results), results
    slowest = max(seconds for _, seconds in results)
    assert slowest < 1.0, f"slowest request took {slowest:.2f} s: {results}"


def test_pages_answer_while_redis_is_stopped(site_on_private_redis):
    proc, client, user = site_on_private_redis
    assert client.get(reverse("home")).status_code == 200
    proc.kill()
    proc.wait()
    _assert_all_answered_quickly(visits_timed(client, VISIT, PAGES))
    # The ratings written meanwhile are saved: the database is the truth, Redis only a cache.
    assert Rating.objects.filter(user=user, movie_id__gte=21, value=2.5).exists()


def test_pages_answer_while_redis_is_frozen(site_on_private_redis):
    proc, client, _ = site_on_private_redis
    assert client.get(reverse("home")).status_code == 200
    os.kill(proc.pid, signal.SIGSTOP)
    session_store.kept_clear()  # the next page reads its session from the frozen Redis, then the database
    try:
        results = visits_timed(client, VISIT, PAGES)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    _assert_all_answered_quickly(results)


def test_picks_follow_a_new_rating_at_once_with_redis_up(site_on_private_redis):
    _, client, user = site_on_private_redis
    before = [p.movie.pk for p in services.recommend_for(user, n=5)]
    started = time.monotonic()
    response = client.post(reverse("movies:rate", args=[before[0]]), {"value": "0.5"})
    elapsed = time.monotonic() - started
    assert response.status_code in (200, 302)
    after = [p.movie.pk for p in services.recommend_for(user, n=5)]
    assert before[0] not in after
    _, stored = get_store().get(user.pk)
    assert before[0] not in stored.tolist()
    assert Rating.objects.get(user=user, movie_id=before[0]).rated_at > datetime(2021, 1, 1, tzinfo=UTC)
    assert elapsed < 1.0


def _connections_received(url: str) -> int:
    return int(redis.Redis.from_url(url).info("stats")["total_connections_received"])


def test_the_cache_skips_a_frozen_redis_after_one_timeout(site_on_private_redis, settings):
    """Sessions on the Redis cache (as in production): one request waits for Redis, the rest skip it.

    While Redis is stopped, the kernel still accepts connections for it; Redis counts them when it
    resumes. Without the breaker every request opens one (its previous one timed out): 12 or more.
    """
    proc, client, user = site_on_private_redis
    url = settings.RECOMMENDER_LISTS_URL
    settings.CACHES = {
        **settings.CACHES,  # the process's own fragments cache stays
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url.rsplit("/", 1)[0] + "/1",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"connection_class": redis_breaker.BreakerConnection},
            },
        },
    }
    settings.SESSION_ENGINE = "accounts.session_store"
    redis_breaker.reset()
    client.force_login(user)  # the session now lives in the database and in Redis
    assert client.get(reverse("home")).status_code == 200
    before = _connections_received(url)
    os.kill(proc.pid, signal.SIGSTOP)
    session_store.kept_clear()  # the next page reads its session from the frozen Redis, then the database
    try:
        results = visits_timed(client, VISIT, PAGES)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    try:
        assert all(status in (200, 302) for status, _ in results), results
        # Still logged in: the session came from the database while Redis was skipped.
        assert client.get(reverse("home")).context["user"] == user
        # Each client (the cache and the list store) tries once, then stays away for its pause.
        new_connections = _connections_received(url) - before - 1  # less this function's own connection
        assert new_connections <= 3, f"{new_connections} connections to the frozen Redis for {PAGES} pages"
    finally:
        redis_breaker.reset()
