"""The base fixture of the movies tests: a few movies and three named users.

alice rates a lot, bob has rated nothing, carol must never see (or change) alice's ratings.
"""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from movies.models import Genre, Movie, Rating

PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def genres(db) -> dict[str, Genre]:
    return {name: Genre.objects.create(name=name) for name in ["Animation", "Comedy", "Drama", "Sci-Fi"]}


@pytest.fixture
def movies(genres) -> dict[str, Movie]:
    rows = [
        (1, "Toy Story", 1995, ["Animation", "Comedy"], "0114709", 862),
        (2, "Jumanji", 1995, ["Comedy"], "0113497", 8844),
        (3, "Heat", 1995, ["Drama"], "0113277", 949),
        (4, "The Matrix", 1999, ["Sci-Fi"], "0133093", 603),
        (5, "Amélie", 2001, ["Comedy", "Drama"], "0211915", 194),
    ]
    found = {}
    for movie_id, title, year, names, imdb, tmdb in rows:
        movie = Movie.objects.create(id=movie_id, title=title, year=year, imdb_id=imdb, tmdb_id=tmdb)
        movie.genres.set([genres[n] for n in names])
        found[title] = movie
    return found


def _user(username: str):
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


@pytest.fixture
def alice(db):
    return _user("alice")


@pytest.fixture
def bob(db):
    return _user("bob")


@pytest.fixture
def carol(db):
    return _user("carol")


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
