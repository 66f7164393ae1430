"""A movie's totals under concurrent ratings, changes and deletions (real PostgreSQL, one connection per thread)."""

import random

import pytest
from django.contrib.auth.models import User
from django.db.models import Count, Sum

from movies import services
from movies.models import Movie, Rating
from tests.threads import run_together

THREADS = 8
WRITES_PER_THREAD = 40


def _stored_and_counted(movie_id: int) -> tuple[tuple[int, float, float | None], tuple[int, float, float | None]]:
    movie = Movie.objects.get(pk=movie_id)
    found = Rating.objects.filter(movie_id=movie_id).aggregate(n=Count("id"), total=Sum("value"))
    n, total = found["n"], found["total"] or 0.0
    return (movie.ratings_count, movie.ratings_sum, movie.ratings_mean), (n, total, round(total / n, 4) if n else None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_ratings_changes_and_deletions_of_one_movie_keep_its_totals_exact(postgres):
    movie = Movie.objects.create(id=1, title="Popular")
    # Fewer people than writes: threads often rate, change and delete the same person's rating at once.
    users = [User.objects.create_user(username=f"rater{i}") for i in range(12)]

    def work(i: int) -> None:
        rng = random.Random(i)
        for _ in range(WRITES_PER_THREAD):
            user = rng.choice(users)
            if rng.random() < 0.3:
                services.rating_delete(user=user, movie_id=movie.pk)
                continue
            services.rating_create_or_update(user=user, movie_id=movie.pk, value=rng.randint(1, 10) / 2)

    assert run_together(work, THREADS) == []
    stored, counted = _stored_and_counted(movie.pk)
    assert counted[0] > 0
    assert stored == counted


@pytest.mark.django_db(transaction=True)
def test_the_same_first_rating_sent_at_once_counts_once(postgres):
    movie = Movie.objects.create(id=1, title="Popular")
    user = User.objects.create_user(username="double-clicker")

    def work(i: int) -> None:
        services.rating_create_or_update(user=user, movie_id=movie.pk, value=4.0 if i % 2 else 3.0)

    assert run_together(work, 6) == []
    stored, counted = _stored_and_counted(movie.pk)
    assert counted[0] == 1
    assert stored == counted
