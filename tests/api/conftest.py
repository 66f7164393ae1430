"""The base fixture of the API tests: a few movies, alice (rates), bob (nothing), carol (never sees alice's).

Clients: `api` is anonymous; `as_alice` sends alice's bearer token on every call.
"""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.tokens import api_token_create
from movies.models import Genre, Movie, Rating
from recommender.api import common
from recommender.services import factors_cache

PASSWORD = "a-long-test-passphrase-42"

# Every call of the "me" router, with a valid path.
ME_CALLS = [
    ("get", "/api/me/picks"),
    ("get", "/api/me/ratings"),
    ("put", "/api/me/ratings/4"),
    ("delete", "/api/me/ratings/1"),
    ("get", "/api/me/not-interested"),
    ("put", "/api/me/not-interested/4"),
    ("delete", "/api/me/not-interested/4"),
    ("get", "/api/me/watchlist"),
    ("put", "/api/me/watchlist/4"),
    ("delete", "/api/me/watchlist/4"),
]


def call(client: Client, method: str, url: str, **extra):
    """One call of a table row; a PUT sends a valid rating unless told otherwise."""
    if method == "put":
        extra.setdefault("data", {"value": 4})
        extra.setdefault("content_type", "application/json")
    return getattr(client, method)(url, **extra)


@pytest.fixture(autouse=True)
def _fresh_factors_cache(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RECOMMENDER_LISTS_URL = ""  # no Redis unless a test asks for it
    factors_cache.forget()
    common._genres.clear()  # each test builds its own catalogue under the same ids
    yield
    factors_cache.forget()


@pytest.fixture
def movies(db) -> dict[str, Movie]:
    genres = {name: Genre.objects.create(name=name) for name in ["Animation", "Comedy", "Drama", "Sci-Fi"]}
    rows = [
        (1, "Toy Story", 1995, ["Animation", "Comedy"]),
        (2, "Jumanji", 1995, ["Comedy"]),
        (3, "Heat", 1995, ["Drama"]),
        (4, "The Matrix", 1999, ["Sci-Fi"]),
        (5, "Amélie", 2001, ["Comedy", "Drama"]),
    ]
    found = {}
    for movie_id, title, year, names in rows:
        movie = Movie.objects.create(id=movie_id, title=title, year=year, ratings_count=10 - movie_id, ratings_mean=4.0)
        movie.genres.set([genres[n] for n in names])
        found[title] = movie
    return found


def _user(username: str):
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


@pytest.fixture
def alice(movies):
    user = _user("alice")
    at = datetime(2024, 1, 1, tzinfo=UTC)
    Rating.objects.create(user=user, movie=movies["Toy Story"], value=4.5, rated_at=at)
    Rating.objects.create(user=user, movie=movies["Heat"], value=2.0, rated_at=at)
    return user


@pytest.fixture
def bob(db):
    return _user("bob")


@pytest.fixture
def carol(db):
    return _user("carol")


@pytest.fixture
def alice_token(alice) -> str:
    return api_token_create(user=alice, name="tests").secret


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def as_alice(alice_token) -> Client:
    return Client(headers={"Authorization": f"Bearer {alice_token}"})


@pytest.fixture
def as_carol(carol) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_token_create(user=carol, name='tests').secret}"})
