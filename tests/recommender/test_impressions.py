"""Impressions: queued by every surface that shows picks, flushed in batches, pruned by age, discounted."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender import services
from recommender.models import Impression
from recommender.services import impressions
from recommender.services.impressions import Source, decode, encode, impressions_flush, impressions_prune
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_redis_queue(settings):
    settings.RECOMMENDER_IMPRESSIONS_URL = ""  # lines wait in this process until flushed
    impressions.local_clear()
    yield
    impressions.local_clear()


def test_a_queue_line_holds_one_list_in_the_order_shown():
    line = encode(user_id=7, source="home", movie_ids=[30, 10, 20], version_id=3, experiment_id=2, arm="control", at=0)
    rows = decode(line)
    assert [(r.movie_id, r.position) for r in rows] == [(30, 0), (10, 1), (20, 2)]
    assert {(r.user_id, r.version_id, r.experiment_id, r.arm, r.source) for r in rows} == {(7, 3, 2, "control", "home")}
    assert rows[0].shown_at == datetime(1970, 1, 1, tzinfo=UTC)


def test_a_malformed_line_is_skipped_and_the_rest_written(caplog):
    impressions._local.extend(["garbage", encode(user_id=1, source="api", movie_ids=[5], version_id=1)])
    assert impressions_flush() == 1
    assert "malformed impression line" in caplog.text
    assert Impression.objects.get().source == "api"


def test_anonymous_visitors_and_empty_lists_are_not_recorded():
    assert not services.impressions_record(user_id=None, source="similar", movie_ids=[1], version_id=1)
    assert not services.impressions_record(user_id=1, source="home", movie_ids=[], version_id=1)
    assert impressions.queued() == 0


def test_old_impressions_are_pruned_in_batches(settings):
    settings.RECOMMENDER_IMPRESSIONS_RETENTION_DAYS = 30
    now = timezone.now()
    Impression.objects.bulk_create(
        Impression(user_id=1, movie_id=m, version_id=1, source="home", position=0, shown_at=now - timedelta(days=d))
        for m, d in enumerate([1, 29, 31, 40, 400])
    )
    assert impressions_prune(now=now, batch=1) == 3
    assert sorted(Impression.objects.values_list("movie_id", flat=True)) == [0, 1]


@pytest.fixture
def site(trained_run, client):
    users = two_tastes_world()
    install(trained_run)
    client.force_login(users[0])
    return client, users[0]


def test_the_home_page_records_its_picks_at_every_view_even_from_the_cache(site, settings):
    client, user = site
    settings.RECOMMENDER_DISCOUNT_STRENGTH = 0.0  # the list stays the same after it was shown
    for _ in range(2):
        assert client.get(reverse("home")).status_code == 200
    assert impressions_flush() > 0
    rows = Impression.objects.filter(source=Source.HOME, user_id=user.pk)
    shown = [p.movie.pk for p in services.recommend_for(user, n=20)]
    assert rows.count() == 2 * len(shown)
    first_view = rows.order_by("shown_at", "position")[: len(shown)]
    assert [r.movie_id for r in first_view] == shown
    assert {r.version_id for r in rows} == {services.factors_cache.active_version_id()}


def test_the_picks_api_and_similar_movies_record_their_sources(site):
    client, user = site
    assert client.get("/api/me/picks?n=5").status_code == 200
    assert client.get(reverse("movies:detail", args=[1])).status_code == 200
    impressions_flush()
    by_source = {s: Impression.objects.filter(source=s, user_id=user.pk).count() for s in Source.values}
    assert by_source[Source.API] == 5
    assert by_source[Source.SIMILAR] > 0


def test_picks_shown_on_many_days_without_an_action_move_down(site, settings):
    _, user = site
    settings.RECOMMENDER_DISCOUNT_STRENGTH = 0.0
    before = [p.movie.pk for p in services.recommend_for(user, n=5)]
    stale = before[:3]
    now = timezone.now()
    Impression.objects.bulk_create(
        Impression(
            user_id=user.pk, movie_id=m, version_id=1, source="home", position=0, shown_at=now - timedelta(days=d)
        )
        for m in stale
        for d in range(1, 6)
    )
    assert [p.movie.pk for p in services.recommend_for(user, n=5)] == before  # strength 0: nothing moves
    settings.RECOMMENDER_DISCOUNT_STRENGTH = 1.0
    after = [p.movie.pk for p in services.recommend_for(user, n=5)]
    assert not set(stale) & set(after)
    assert set(before[3:]) <= set(after)
