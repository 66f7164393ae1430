"""Online metrics on hand-made impressions and actions: every count worked out by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from movies.models import Dismissal, Movie, Rating
from recommender.models import Impression, OnlineDay
from recommender.services.impressions import decode, encode
from recommender.services.online_metrics import (
    experiment_results,
    figures_of,
    online_day_compute,
    online_metrics_refresh,
)

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _shown(user, movie_ids, *, at=NOON, source="home", version_id=1, **experiment):
    """A list shown to user, stored the way impressions_flush stores a queued line."""
    line = encode(
        user_id=user.pk, source=source, movie_ids=movie_ids, version_id=version_id, at=at.timestamp(), **experiment
    )
    Impression.objects.bulk_create(decode(line))


def _dismissed(user, movie, at):
    dismissal = Dismissal.objects.create(user=user, movie_id=movie)
    Dismissal.objects.filter(pk=dismissal.pk).update(created_at=at)  # auto_now_add: set the time after


@pytest.fixture
def world():
    for movie_id in range(1, 11):
        Movie.objects.create(id=movie_id, title=f"movie {movie_id}")
    return User.objects.bulk_create([User(username=f"u{i}") for i in range(3)])


def test_each_shown_pair_counts_once_with_what_was_done_within_the_window(world, settings):
    settings.RECOMMENDER_ONLINE_WINDOW_DAYS = 7
    alice, bob, carol = world
    _shown(alice, [1, 2, 3, 4])
    _shown(alice, [1], at=NOON + timedelta(hours=3))  # shown again the same day: still one pair
    _shown(bob, [1])
    _shown(bob, [5])
    _shown(carol, [6], source="similar")  # similar movies are not picks: not counted
    Rating.objects.create(user=alice, movie_id=1, value=4.0, rated_at=NOON + timedelta(days=1))  # hit, 4 stars
    Rating.objects.create(user=alice, movie_id=2, value=2.0, rated_at=NOON + timedelta(days=6))  # hit, 2 stars
    Rating.objects.create(user=alice, movie_id=3, value=5.0, rated_at=NOON + timedelta(days=8))  # after the window
    Rating.objects.create(user=bob, movie_id=1, value=3.0, rated_at=NOON - timedelta(hours=1))  # before it was shown
    _dismissed(bob, 5, NOON + timedelta(hours=2))  # dismissed

    (row,) = online_day_compute(day=DAY)

    assert (row.version_id, row.day) == (1, DAY)
    assert row.shown == 6  # alice 1-4, bob 1 and 5
    assert row.users == 2
    assert row.movies == 5  # 1-5 among the picks
    assert (row.hits, row.rated, row.dismissed, row.ignored) == (2, 2, 1, 3)
    assert row.stars_sum == 6.0 and row.stars_sq_sum == 20.0
    figures = figures_of([row], catalogue=10)
    assert figures.hit_rate.value == pytest.approx(2 / 6)
    assert figures.mean_stars.value == pytest.approx(3.0)
    assert figures.dismiss_rate.value == pytest.approx(1 / 6)
    assert figures.catalogue_share == pytest.approx(0.5)


def test_a_pair_shown_on_an_earlier_day_is_not_counted_again(world):
    alice, _, _ = world
    _shown(alice, [1], at=NOON - timedelta(days=1))
    _shown(alice, [1])
    _shown(alice, [2])
    (row,) = online_day_compute(day=DAY)
    assert row.shown == 1


def test_arms_and_versions_are_counted_apart(world):
    alice, bob, carol = world
    _shown(alice, [1], version_id=1, experiment_id=9, arm="control")
    _shown(bob, [1], version_id=2, experiment_id=9, arm="challenger")
    _shown(carol, [1], version_id=2, experiment_id=9, arm="challenger")
    Rating.objects.create(user=bob, movie_id=1, value=5.0, rated_at=NOON + timedelta(minutes=5))
    online_day_compute(day=DAY)
    rows = {(r.version_id, r.arm): r for r in OnlineDay.objects.all()}
    assert rows[(1, "control")].shown == 1 and rows[(1, "control")].hits == 0
    assert rows[(2, "challenger")].shown == 2 and rows[(2, "challenger")].hits == 1
    results = experiment_results(experiment_id=9)
    assert results.control.hit_rate.value == 0.0
    assert results.challenger.hit_rate.value == 0.5
    assert results.hit_rate.difference == pytest.approx(0.5)


def test_watchlist_entries_count_as_hits_when_the_site_has_a_watchlist(world, settings):
    """Any model with user, movie and a time field plugs in; Rating stands in for a watchlist here."""
    alice, _, _ = world
    settings.RECOMMENDER_WATCHLIST_MODEL = "movies.Rating.rated_at"
    _shown(alice, [1])
    Rating.objects.create(user=alice, movie_id=1, value=4.0, rated_at=NOON + timedelta(hours=1))
    (row,) = online_day_compute(day=DAY)
    assert (row.hits, row.rated, row.watchlisted) == (1, 1, 1)


def test_a_recount_replaces_the_days_rows_and_skips_closed_days(world, settings):
    settings.RECOMMENDER_ONLINE_WINDOW_DAYS = 2
    alice, _, _ = world
    _shown(alice, [1])
    assert online_metrics_refresh(now=NOON + timedelta(days=1)) == 1
    Rating.objects.create(user=alice, movie_id=1, value=4.0, rated_at=NOON + timedelta(days=1, hours=1))
    assert online_metrics_refresh(now=NOON + timedelta(days=1, hours=2)) == 1
    assert OnlineDay.objects.get().hits == 1
    # Long after the window closed, a counted day is left alone.
    assert online_metrics_refresh(now=NOON + timedelta(days=10)) == 0
    assert OnlineDay.objects.count() == 1
