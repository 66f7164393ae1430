"""Impressions go through a real Redis queue into PostgreSQL; with Redis stopped or frozen they are dropped
and pages answer as quickly as before.

The queue lives in a private redis-server started by the test, so stopping it disturbs nobody else.
"""

import os
import signal

import pytest
from django.urls import reverse

from config import redis_breaker
from recommender.models import Impression
from recommender.services import factors_cache, impressions
from recommender.services.impressions import impressions_flush, queued
from tests.redis_server import private_redis
from tests.timed_pages import visits_timed
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def site_with_queue(settings, tmp_path, client, trained_run):
    with private_redis(tmp_path) as (proc, url):
        settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
        settings.RECOMMENDER_LISTS_URL = url
        settings.RECOMMENDER_IMPRESSIONS_URL = url
        settings.RECOMMENDER_LISTS_PREFIX = "impressions-outage"
        factors_cache.forget()
        redis_breaker.reset()
        users = two_tastes_world()
        install(trained_run)
        client.force_login(users[0])
        yield proc, client, users[0]
        factors_cache.forget()
        redis_breaker.reset()


# The home page, the API's picks and a movie page, in turn: each shows a list of picks.
VISIT = (
    lambda client, i: client.get(reverse("home")),
    lambda client, i: client.get("/api/me/picks?n=10"),
    lambda client, i: client.get(reverse("movies:detail", args=[1 + i])),
)


def test_impressions_queue_in_redis_and_flush_to_the_database(site_with_queue):
    _, client, user = site_with_queue
    assert all(status == 200 for status, _ in visits_timed(client, VISIT, 9))
    assert queued() == 9  # one line per list shown
    assert Impression.objects.count() == 0  # nothing written on the request's path
    written = impressions_flush(batch=2)
    assert written == Impression.objects.count() > 0
    assert queued() == 0
    assert set(Impression.objects.values_list("source", flat=True)) == {"home", "api", "similar"}
    assert set(Impression.objects.values_list("user_id", flat=True)) == {user.pk}


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_with_redis_away_impressions_are_dropped_and_pages_stay_fast(site_with_queue, outage):
    proc, client, _ = site_with_queue
    assert client.get(reverse("home")).status_code == 200
    if outage == "stopped":
        proc.kill()
        proc.wait()
    else:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        results = visits_timed(client, VISIT, 9)
        sent = impressions.impressions_send()  # what the sender thread does a second later
        dropped = impressions.impressions_record(user_id=1, source="home", movie_ids=[1], version_id=1)
    finally:
        if outage == "frozen":
            os.kill(proc.pid, signal.SIGCONT)
    assert all(status == 200 for status, _ in results), results
    # One timeout per client (lists, impressions) at most, then the breaker skips Redis.
    assert sum(seconds for _, seconds in results) < 2.0, results
    assert max(seconds for _, seconds in results) < 1.0, results
    assert sent == 0
    assert dropped is False  # the breaker is open: a page does not even keep the line
    assert Impression.objects.count() == 0
