"""Tiny hand-made data for the engine tests (no database, no Django)."""

import numpy as np
import pandas as pd
import pytest

from recommender.engine.factors import Factors

# 6 users x 8 movies (raw ids as a site would have them): users 10-12 love the first four
# movies (ids 101-104) and dislike the rest; users 20-22 the other way round.
TINY = [
    (10, 101, 5.0), (10, 102, 4.5), (10, 103, 4.0), (10, 105, 1.0), (10, 106, 1.5),
    (11, 101, 4.5), (11, 102, 5.0), (11, 104, 4.0), (11, 107, 1.0),
    (12, 102, 4.0), (12, 103, 5.0), (12, 104, 4.5), (12, 108, 2.0), (12, 105, 1.0),
    (20, 105, 5.0), (20, 106, 4.5), (20, 107, 4.0), (20, 101, 1.0), (20, 102, 1.5),
    (21, 105, 4.5), (21, 107, 5.0), (21, 108, 4.0), (21, 103, 1.0),
    (22, 106, 4.0), (22, 107, 4.5), (22, 108, 5.0), (22, 104, 1.5), (22, 101, 0.5),
]  # fmt: skip


@pytest.fixture
def tiny_ratings() -> pd.DataFrame:
    return pd.DataFrame(TINY, columns=["userId", "movieId", "rating"])


def two_tastes(n_users: int = 120, n_movies: int = 60, per_user: int = 20, seed: int = 0) -> pd.DataFrame:
    """A learnable pattern: two groups of users, each rating (and rating high) its own half of the movies."""
    rng = np.random.default_rng(seed)
    rows = []
    half = n_movies // 2
    for u in range(n_users):
        group = u % 2
        own = np.arange(half) + group * half
        other = np.arange(half) + (1 - group) * half
        liked = rng.choice(own, per_user - 3, replace=False)
        disliked = rng.choice(other, 3, replace=False)
        rows += [(u + 1, int(m) + 1000, float(rng.choice([4.0, 4.5, 5.0]))) for m in liked]
        rows += [(u + 1, int(m) + 1000, float(rng.choice([0.5, 1.0, 1.5]))) for m in disliked]
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating"])


@pytest.fixture(scope="session")
def taste_ratings() -> pd.DataFrame:
    return two_tastes()


@pytest.fixture(scope="session")
def trained_default(taste_ratings):
    """The default preset trained once on the two-taste data (small and quick)."""
    from recommender.engine.training import train

    return train(
        taste_ratings,
        "default",
        overrides={"embedding_dim": 8, "rating_dim": 4, "epochs": 25, "rating_epochs": 10, "batch_size": 256,
                   "group_size": 256, "learning_rate": 0.02, "l2": 0.01, "patience": 25, "jit": False},
        seed=1,
    )  # fmt: skip


def random_factors(n_users: int = 50, n_movies: int = 200, dim: int = 6, seed: int = 0) -> Factors:
    """Factors with random weights and a joint head: for ranking and artefact tests."""
    rng = np.random.default_rng(seed)
    return Factors(
        user_ids=np.arange(n_users, dtype=np.int64) * 7 + 3,
        movie_ids=np.arange(n_movies, dtype=np.int64) * 2 + 1,
        user_vectors=rng.normal(size=(n_users, dim)).astype(np.float32),
        movie_vectors=rng.normal(size=(n_movies, dim)).astype(np.float32),
        user_bias=rng.normal(0, 0.3, n_users).astype(np.float32),
        movie_bias=rng.normal(0, 0.5, n_movies).astype(np.float32),
        head={
            "kind": "joint",
            "global_mean": np.float32(3.5),
            "weight": rng.normal(0, 0.1, dim).astype(np.float32),
            "movie_bias": rng.normal(0, 0.3, n_movies).astype(np.float32),
            "user_rating_vectors": rng.normal(0, 0.3, (n_users, 3)).astype(np.float32),
            "movie_rating_vectors": rng.normal(0, 0.3, (n_movies, 3)).astype(np.float32),
            "low": np.float32(0.5),
            "high": np.float32(5.0),
        },
        metadata={"preset": "test"},
    )


@pytest.fixture
def factors() -> Factors:
    return random_factors()
