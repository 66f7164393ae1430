"""The base fixture of the API tests: a few movies, alice (rates), bob (nothing), carol (never sees alice's).

Clients: `api` is anonymous; `as_alice` sends alice's bearer token on every call.
"""

from datetime import UTC, datetime

import pytest
from django.test import Client

from accounts.tokens import api_token_create
from movies.models import Movie, Rating
from recommender.api import common
from recommender.services import factors_cache
from tests.catalogue import PASSWORD, genres_create, movies_create, user_create

__all__ = ["PASSWORD"]  # for the tests that log in

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
    return movies_create(genres_create(), rated=True)


@pytest.fixture
def alice(movies):
    user = user_create("alice")
    at = datetime(2024, 1, 1, tzinfo=UTC)
    Rating.objects.create(user=user, movie=movies["Toy Story"], value=4.5, rated_at=at)
    Rating.objects.create(user=user, movie=movies["Heat"], value=2.0, rated_at=at)
    return user


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
