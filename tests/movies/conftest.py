"""The base fixture of the movies tests: a few movies and three named users.

alice rates a lot, bob has rated nothing, carol must never see (or change) alice's ratings.
"""

from datetime import UTC, datetime

import pytest

from movies.models import Genre, Movie, Rating
from tests.catalogue import PASSWORD, genres_create, movies_create, user_create

__all__ = ["PASSWORD"]  # for the tests that log in


@pytest.fixture
def genres(db) -> dict[str, Genre]:
    return genres_create()


@pytest.fixture
def movies(genres) -> dict[str, Movie]:
    return movies_create(genres)


@pytest.fixture
def alice(db):
    return user_create("alice")


@pytest.fixture
def alice_ratings(alice, movies) -> dict[str, Rating]:
    """alice's ratings, written as the importer would: rows plus the denormalised totals."""
    values = {"Toy Story": 4.5, "Heat": 3.0, "The Matrix": 5.0}
    found = {}
    for i, (title, value) in enumerate(values.items()):
        movie = movies[title]
        found[title] = Rating.objects.create(
            user=alice, movie=movie, value=value, rated_at=datetime(2024, 1, 1 + i, tzinfo=UTC)
        )
        Movie.objects.filter(pk=movie.pk).update(ratings_count=1, ratings_sum=value, ratings_mean=value)
    return found


@pytest.fixture(autouse=True)
def _no_model_held_in_memory():
    """Pages ask the recommender for picks; start every test without a version cached by an earlier one."""
    from recommender.services.factors_cache import forget

    forget()
    yield
    forget()
