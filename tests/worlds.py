"""Small rating worlds the recommender can learn from, shared by the test tiers.

two_tastes_world(): users 0-19 love the "A" movies (1-20) and dislike the "B" ones
(21-40); users 20-39 the other way round. As people do, each user mostly rates
movies of their taste (seeded: 60% of them, 15% of the others), so every user has
unrated movies of both kinds left to recommend.
"""

from datetime import UTC, datetime

import numpy as np
from django.contrib.auth.models import User

from movies.models import Genre, Movie, Rating

# Small batches so a handful of epochs on a few hundred ratings learns the two tastes. No XLA:
# on so few ratings compiling the step costs more than it saves (the same model either way).
FAST = {
    "epochs": 30,
    "patience": 30,
    "embedding_dim": 8,
    "rating_dim": 4,
    "batch_size": 64,
    "group_size": 64,
    "learning_rate": 0.03,
    "jit": False,
}


def two_tastes_world() -> list[User]:
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
