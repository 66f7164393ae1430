"""The catalogue's write services: ratings, dismissals and movie totals."""

import random
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Avg, Count
from django.db.models.functions import Round

from movies import services
from movies.models import Dismissal, Movie, Rating
from movies.totals import movie_totals_check

pytestmark = pytest.mark.django_db


def _totals(movie_id: int) -> tuple[int, float | None]:
    movie = Movie.objects.get(pk=movie_id)
    return movie.ratings_count, movie.ratings_mean


def _aggregate(movie_id: int) -> tuple[int, float | None]:
    # What the importer's refresh_movie_stats stores: the mean rounded to 4 places.
    found = Rating.objects.filter(movie_id=movie_id).aggregate(n=Count("id"), mean=Round(Avg("value"), 4))
    return found["n"], found["mean"]


@pytest.mark.parametrize("value", [0.5, 1, 2.5, 5.0, "3.5", Decimal("4.0"), " 4.5 "])
def test_it_accepts_every_half_star_from_half_to_five(bob, movies, value):
    rating = services.rating_create_or_update(user=bob, movie_id=movies["Heat"].pk, value=value)
    rating.refresh_from_db()
    assert rating.value == float(Decimal(str(value).strip()))


@pytest.mark.parametrize("value", [0, 0.0, 0.25, 5.5, 6, -1, 3.3, "abc", "", "nan", "inf", None, True])
def test_it_rejects_values_that_are_not_half_stars(bob, movies, value):
    with pytest.raises(ValidationError) as caught:
        services.rating_create_or_update(user=bob, movie_id=movies["Heat"].pk, value=value)
    assert "value" in caught.value.message_dict
    assert not Rating.objects.exists()


def test_it_rejects_a_movie_that_does_not_exist(bob, movies):
    with pytest.raises(ValidationError) as caught:
        services.rating_create_or_update(user=bob, movie_id=999_999, value=4.0)
    assert "movie_id" in caught.value.message_dict
    assert not Rating.objects.exists()


def test_it_rejects_an_anonymous_user(movies):
    with pytest.raises(ValidationError):
        services.rating_create_or_update(user=AnonymousUser(), movie_id=movies["Heat"].pk, value=4.0)


def test_a_first_rating_sets_the_count_and_the_mean(bob, movies):
    services.rating_create_or_update(user=bob, movie_id=movies["Jumanji"].pk, value=3.5)
    assert _totals(movies["Jumanji"].pk) == (1, 3.5)


def test_a_first_rating_takes_one_insert_and_one_update_with_no_lock_before(bob, movies):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        services.rating_create_or_update(user=bob, movie_id=movies["Heat"].pk, value=4.0)
    statements = [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]
    # The test's own transaction makes the service's atomic block a savepoint: only those go.
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE")] == ["INSERT", "UPDATE"]
    assert _totals(movies["Heat"].pk) == (1, 4.0)


def test_rating_again_replaces_the_value_without_counting_twice(alice, bob, movies):
    movie_id = movies["Jumanji"].pk
    services.rating_create_or_update(user=alice, movie_id=movie_id, value=5.0)
    services.rating_create_or_update(user=bob, movie_id=movie_id, value=2.0)
    services.rating_create_or_update(user=bob, movie_id=movie_id, value=3.0)
    assert Rating.objects.get(user=bob, movie_id=movie_id).value == 3.0
    assert _totals(movie_id) == (2, 4.0)


def test_the_mean_is_rounded_to_four_places_like_the_importers(alice, bob, carol, movies):
    movie_id = movies["Heat"].pk
    for user, value in [(alice, 4.0), (bob, 4.0), (carol, 5.0)]:
        services.rating_create_or_update(user=user, movie_id=movie_id, value=value)
    assert _totals(movie_id) == (3, 4.3333)


def test_a_rating_adds_to_the_stored_totals_without_recounting(bob, movies):
    movie_id = movies["Heat"].pk
    Movie.objects.filter(pk=movie_id).update(ratings_count=7, ratings_sum=21.0, ratings_mean=3.0)
    services.rating_create_or_update(user=bob, movie_id=movie_id, value=5.0)
    assert _totals(movie_id) == (8, 3.25)


def test_the_nightly_check_repairs_and_logs_totals_that_had_drifted(alice_ratings, bob, movies, caplog):
    heat, jumanji = movies["Heat"].pk, movies["Jumanji"].pk
    services.rating_create_or_update(user=bob, movie_id=heat, value=2.0)
    Movie.objects.filter(pk=heat).update(ratings_count=7, ratings_sum=1.0, ratings_mean=1.2345)
    Movie.objects.filter(pk=jumanji).update(ratings_count=3, ratings_sum=9.0, ratings_mean=3.0)
    with caplog.at_level("WARNING", logger="movies.totals"):
        assert movie_totals_check() == 2
    assert _totals(heat) == _aggregate(heat) == (2, 2.5)
    assert _totals(jumanji) == (0, None)
    assert Movie.objects.get(pk=jumanji).ratings_sum == 0
    assert "2 movie(s) had drifted" in caplog.text
    assert movie_totals_check() == 0


def test_deleting_the_last_rating_clears_the_mean(bob, movies):
    movie_id = movies["Heat"].pk
    services.rating_create_or_update(user=bob, movie_id=movie_id, value=4.0)
    assert services.rating_delete(user=bob, movie_id=movie_id) is True
    assert _totals(movie_id) == (0, None)
    assert services.rating_delete(user=bob, movie_id=movie_id) is False
    assert _totals(movie_id) == (0, None)


def test_counts_and_means_stay_exactly_equal_to_the_aggregate_over_many_changes(movies, django_user_model):
    users = [django_user_model.objects.create_user(username=f"u{i}") for i in range(12)]
    movie_ids = [m.pk for m in movies.values()]
    rng = random.Random(5)
    for _ in range(400):
        user, movie_id = rng.choice(users), rng.choice(movie_ids)
        if rng.random() < 0.25:
            services.rating_delete(user=user, movie_id=movie_id)
        else:
            services.rating_create_or_update(user=user, movie_id=movie_id, value=rng.randint(1, 10) / 2)
    for movie_id in movie_ids:
        # Exact equality on purpose: half stars add exactly, so no drift builds up.
        assert _totals(movie_id) == _aggregate(movie_id)


def test_a_user_can_only_ever_change_their_own_rating(alice_ratings, carol, movies):
    heat = movies["Heat"]
    services.rating_create_or_update(user=carol, movie_id=heat.pk, value=1.0)
    assert Rating.objects.get(pk=alice_ratings["Heat"].pk).value == 3.0
    assert Rating.objects.get(user=carol, movie=heat).value == 1.0
    assert _totals(heat.pk) == (2, 2.0)


def test_a_user_cannot_delete_someone_elses_rating(alice_ratings, carol, movies):
    assert services.rating_delete(user=carol, movie_id=movies["Heat"].pk) is False
    assert Rating.objects.filter(pk=alice_ratings["Heat"].pk).exists()
    assert _totals(movies["Heat"].pk) == (1, 3.0)


def test_dismissing_twice_keeps_one_dismissal(bob, movies):
    services.movie_dismiss(user=bob, movie_id=movies["Heat"].pk)
    services.movie_dismiss(user=bob, movie_id=movies["Heat"].pk)
    assert Dismissal.objects.filter(user=bob).count() == 1


def test_dismissing_an_unknown_movie_is_rejected(bob, movies):
    with pytest.raises(ValidationError):
        services.movie_dismiss(user=bob, movie_id=999_999)


def test_undismissing_only_touches_the_users_own_dismissal(alice, carol, movies):
    services.movie_dismiss(user=alice, movie_id=movies["Heat"].pk)
    assert services.movie_undismiss(user=carol, movie_id=movies["Heat"].pk) is False
    assert Dismissal.objects.filter(user=alice).exists()
    assert services.movie_undismiss(user=alice, movie_id=movies["Heat"].pk) is True
    assert not Dismissal.objects.exists()
