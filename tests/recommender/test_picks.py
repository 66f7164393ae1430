"""Picks, stars, reasons and similar movies from a trained version."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from movies.models import Dismissal, Movie, Rating
from recommender import services
from recommender.services.picks import reading_once
from recommender.store import ListStore
from tests.fresh_interpreter import packages_loaded_by
from tests.trained import install

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(two_tastes, trained_run):
    install(trained_run)
    return two_tastes


def _is_a(movie: Movie) -> bool:
    return movie.pk <= 20


def test_picks_never_include_rated_movies(trained):
    user = trained[0]
    rated = set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
    picks = services.recommend_for(user, n=15)
    assert len(picks) == 15
    assert not {p.movie.pk for p in picks} & rated


def test_lists_read_once_are_the_same_lists_for_fewer_queries(trained):
    user = trained[0]
    with CaptureQueriesContext(connection) as apart:
        alone = [services.recommend_for(user, n=5), services.recommend_for(user, n=15)]
    with CaptureQueriesContext(connection) as together, reading_once():
        once = [services.recommend_for(user, n=5), services.recommend_for(user, n=15)]
    assert [[(p.movie.pk, p.stars) for p in picks] for picks in once] == [
        [(p.movie.pk, p.stars) for p in picks] for picks in alone
    ]
    assert len(together) < len(apart)


def test_picks_follow_the_users_taste(trained):
    fan_of_a, fan_of_b = trained[0], trained[39]
    assert sum(_is_a(p.movie) for p in services.recommend_for(fan_of_a, n=5)) >= 4
    assert sum(not _is_a(p.movie) for p in services.recommend_for(fan_of_b, n=5)) >= 4


def test_stars_are_in_range_and_reasons_are_movies_the_user_liked(trained):
    user = trained[0]
    liked = set(Rating.objects.filter(user=user, value__gte=4.0).values_list("movie_id", flat=True))
    picks = services.recommend_for(user, n=5)
    assert all(0.5 <= p.stars <= 5.0 for p in picks)
    assert all(p.because is not None and p.because.pk in liked for p in picks)


def test_cards_show_stars_that_agree_with_the_order_and_none_below_three_while_better_remain(trained):
    from recommender.services.predictions import predicted_stars

    for user in (trained[0], trained[25]):
        picks = services.recommend_for(user, n=10)
        shown = [round(p.stars, 1) for p in picks]
        assert shown == sorted(shown, reverse=True)
        if shown and shown[-1] < 3.0:
            # A pick below 3 stars only when no other movie left to pick reaches 3.
            rated = set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
            others = [m for m in Movie.objects.values_list("pk", flat=True) if m not in rated]
            others = [m for m in others if m not in {p.movie.pk for p in picks}]
            assert all(round(s, 1) < 3.0 for s in predicted_stars(user, others).values())


def test_a_reason_never_names_a_movie_the_person_rated_low(trained):
    newcomer = User.objects.create(username="mixed")
    now = timezone.now()
    for movie_id, stars in ((1, 5.0), (2, 4.5), (21, 1.0), (22, 1.0), (23, 1.5)):
        Rating.objects.create(user=newcomer, movie_id=movie_id, value=stars, rated_at=now)
    picks = services.recommend_for(newcomer, n=10)
    assert picks and all(p.because is None or p.because.pk in {1, 2} for p in picks)


def test_a_new_user_gets_personal_picks_from_a_few_ratings_without_retraining(trained):
    newcomer = User.objects.create(username="newcomer")
    now = timezone.now()
    for movie_id in (1, 2, 3, 4, 5):
        Rating.objects.create(user=newcomer, movie_id=movie_id, value=5.0, rated_at=now)
    for movie_id in (21, 22):
        Rating.objects.create(user=newcomer, movie_id=movie_id, value=1.0, rated_at=now)
    picks = services.recommend_for(newcomer, n=5)
    assert sum(_is_a(p.movie) for p in picks) >= 4
    assert not {p.movie.pk for p in picks} & {1, 2, 3, 4, 5, 21, 22}


def test_a_user_without_ratings_gets_popular_movies(trained, settings):
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    Movie.objects.filter(pk=33).update(ratings_count=99)
    picks = services.recommend_for(User.objects.create(username="blank"), n=3)
    assert picks[0].movie.pk == 33
    assert all(p.because is None for p in picks)


def test_without_a_trained_model_everyone_gets_popular_movies(two_tastes, settings):
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    user = two_tastes[0]
    unrated = Movie.objects.exclude(ratings__user=user).order_by("pk").first()
    Movie.objects.filter(pk=unrated.pk).update(ratings_count=50)
    assert services.recommend_for(user, n=1)[0].movie == unrated


def test_similar_movies_share_the_taste(trained):
    similar = services.similar_to(Movie.objects.get(pk=3), n=5)
    assert len(similar) == 5
    assert all(movie.pk != 3 for movie, _ in similar)
    assert sum(_is_a(movie) for movie, _ in similar) >= 4


@pytest.fixture
def redis_store(lists_on_redis, settings):
    return ListStore.from_url(settings.RECOMMENDER_LISTS_URL, prefix=settings.RECOMMENDER_LISTS_PREFIX)


@pytest.mark.integration
def test_publishing_writes_every_users_list_to_redis_and_a_rating_refreshes_one(two_tastes, redis_store, trained_run):
    version = install(trained_run)  # builds the lists in Redis and publishes them
    assert redis_store.live_version() == version.pk
    assert redis_store.count(version.pk) == 40
    user = two_tastes[0]
    _, before = redis_store.get(user.pk)
    rated = set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
    assert not set(before.tolist()) & rated

    top = int(before[0])
    Rating.objects.create(user=user, movie_id=top, value=1.0, rated_at=datetime.now(UTC))
    after = services.user_picks_refresh(user_id=user.pk)
    assert top not in after.tolist()
    assert redis_store.get(user.pk)[1].tolist() == after.tolist()


def test_serving_picks_never_loads_tensorflow_nor_the_training_libraries(trained):
    """A web process ranks with numpy: loading every view loads no TensorFlow, and none of what only
    training and imports use (pandas, pyarrow, scipy: 80 MB of a web worker's memory when they were)."""
    modules = ["recommender.services", "recommender.admin", "recommender.api", "movies.views.catalogue"]
    training_only = ("tensorflow", "keras", "pandas", "pyarrow", "scipy")
    assert packages_loaded_by(modules, among=training_only, web_process=True) == []


def test_movies_marked_not_interested_never_appear(trained):
    user = trained[0]
    first = services.recommend_for(user, n=3)
    Dismissal.objects.create(user=user, movie=first[0].movie)
    services.user_picks_refresh(user_id=user.pk)
    assert first[0].movie.pk not in {p.movie.pk for p in services.recommend_for(user, n=10)}


def test_popular_picks_are_marked_impersonal_and_skip_what_the_user_rated(two_tastes, settings):
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    Movie.objects.filter(pk__in=[7, 8]).update(ratings_count=50)
    user = two_tastes[0]
    Rating.objects.filter(user=user, movie_id=7).delete()
    Rating.objects.create(user=user, movie_id=7, value=3.0, rated_at=timezone.now())
    picks = services.recommend_for(user, n=3)  # no trained model yet
    assert all(not p.personal for p in picks)
    assert 7 not in {p.movie.pk for p in picks}
    assert picks[0].movie.pk == 8


def test_a_missing_active_artefact_degrades_to_popular_picks_not_an_error(trained, settings):
    from pathlib import Path

    from recommender.models import ModelVersion

    Path(ModelVersion.objects.get(is_active=True).artifact_path).unlink()
    services.factors_cache.forget()
    picks = services.recommend_for(trained[0], n=3)
    assert len(picks) == 3 and not any(p.personal for p in picks)
