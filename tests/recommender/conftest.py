"""A small world of ratings with two tastes, for the recommender's services.

Users 0-19 love the "A" movies (1-20) and dislike the "B" ones (21-40); users
20-39 the other way round. As people do, each user mostly rates movies of
their taste (seeded: 60% of them, 15% of the others), so every user has
unrated movies of both kinds left to recommend.
"""

from datetime import UTC, datetime

import numpy as np
import pytest
from django.contrib.auth.models import User

from movies.models import Genre, Movie, Rating
from recommender.services import factors_cache


@pytest.fixture(autouse=True)
def _fresh_factors_cache(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RECOMMENDER_LISTS_URL = ""  # no Redis unless a test asks for it
    factors_cache.forget()
    yield
    factors_cache.forget()


@pytest.fixture
def two_tastes(db) -> list[User]:
    action, romance = Genre.objects.create(name="Action"), Genre.objects.create(name="Romance")
    for movie_id in range(1, 41):
        movie = Movie.objects.create(id=movie_id, title=f"{'A' if movie_id <= 20 else 'B'} movie {movie_id}", year=2000)
        movie.genres.add(action if movie_id <= 20 else romance)
    users = User.objects.bulk_create([User(username=f"fan{i}") for i in range(40)])
    rng = np.random.default_rng(7)
    at = datetime(2020, 1, 1, tzinfo=UTC)
    rows = []
    for i, user in enumerate(users):
        loves_a = i < 20
        for movie_id in range(1, 41):
            liked = (movie_id <= 20) == loves_a
            if rng.random() > (0.6 if liked else 0.15):
                continue
            rows.append(Rating(user=user, movie_id=movie_id, value=4.5 if liked else 1.5, rated_at=at))
    Rating.objects.bulk_create(rows)
    return users
