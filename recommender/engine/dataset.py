"""Ratings to contiguous indexes, and the two seeded evaluation splits.

Numpy and pandas, for training and evaluation: web processes need only the id maps
(recommender.engine.ids), never this module's pandas. It must not pull in TensorFlow
(scikit-learn is imported lazily, only by the rating split).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.engine.ids import IdIndex, UsersAndMovies

REQUIRED_COLUMNS = ("userId", "movieId", "rating")


@dataclass(frozen=True)
class Ratings(UsersAndMovies):
    """A ratings table with contiguous user and movie indexes (one row per rating)."""

    users: IdIndex
    movies: IdIndex
    user: np.ndarray  # int32 user index per rating
    movie: np.ndarray  # int32 movie index per rating
    rating: np.ndarray  # float32 stars

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def subset(self, rows: np.ndarray) -> Ratings:
        """The same indexes with only some rows (a split keeps indexes comparable).

        Args:
            rows: row positions or a boolean mask.

        Returns:
            A Ratings sharing this one's id indexes.
        """
        return Ratings(self.users, self.movies, self.user[rows], self.movie[rows], self.rating[rows])


def validate_frame(ratings: pd.DataFrame) -> None:
    """Refuse a ratings table that would train silently wrong.

    Args:
        ratings: a frame with columns userId, movieId, rating.

    Raises:
        ValueError: naming the missing column or the first bad value.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings table lacks column(s) {missing}; needs {list(REQUIRED_COLUMNS)}")
    if len(ratings) == 0:
        raise ValueError("ratings table is empty")
    values = ratings["rating"].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"ratings row {row}: rating {values[row]!r} is not a finite number")
    for col in ("userId", "movieId"):
        if ratings[col].isna().any():
            row = int(np.flatnonzero(ratings[col].isna().to_numpy())[0])
            raise ValueError(f"ratings row {row}: {col} is empty")


def encode(ratings: pd.DataFrame) -> Ratings:
    """Index a ratings table.

    Args:
        ratings: columns userId, movieId (raw ints) and rating (stars).

    Returns:
        Ratings with contiguous indexes over the ids present in this table.
    """
    validate_frame(ratings)
    raw_u = ratings["userId"].to_numpy(dtype=np.int64)
    raw_m = ratings["movieId"].to_numpy(dtype=np.int64)
    users, user = np.unique(raw_u, return_inverse=True)
    movies, movie = np.unique(raw_m, return_inverse=True)
    return Ratings(
        IdIndex(users),
        IdIndex(movies),
        user.astype(np.int32),
        movie.astype(np.int32),
        ratings["rating"].to_numpy(dtype=np.float32),
    )


def split_by_rating(rating: np.ndarray, *, test: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Protocol (R): a random split stratified by rating value.

    Stratifying keeps the distribution of stars equal in both parts, so RMSE
    compares with figures published for the same protocol.

    Args:
        rating: stars per row.
        test: fraction held out.
        seed: the split's seed (42 is the protocol's).

    Returns:
        (train_rows, test_rows): sorted row positions.
    """
    from sklearn.model_selection import train_test_split  # lazy: heavy import, only evaluation needs it

    rows = np.arange(len(rating))
    labels = np.asarray(rating)
    values, counts = np.unique(labels, return_counts=True)
    # A star value seen once cannot be stratified; merge such rows into the most common value.
    if (counts < 2).any():
        labels = np.where(np.isin(labels, values[counts < 2]), values[counts.argmax()], labels)
    train, held = train_test_split(rows, test_size=test, random_state=seed, stratify=labels)
    return np.sort(train), np.sort(held)


def split_per_user(user: np.ndarray, *, test: float = 0.25, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Protocol (T): hold out a seeded random `test` share (rounded) of each user's ratings.

    Rounding is half-up (a user with 2 ratings at 25% keeps both: 0.5 rounds to 1
    only from 0.5 up, so 2 * 0.25 = 0.5 -> 1 held out). Users with a single
    rating keep it in train, so every user has something to rank from.

    Args:
        user: user index per row.
        test: share held out per user.
        seed: the split's seed.

    Returns:
        (train_rows, test_rows): sorted row positions.
    """
    user = np.asarray(user)
    n = len(user)
    rng = np.random.default_rng(seed)
    key = rng.random(n)
    order = np.lexsort((key, user))  # by user, then random within the user
    sorted_user = user[order]
    starts = np.flatnonzero(np.r_[True, sorted_user[1:] != sorted_user[:-1]])
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)
    take = np.floor(counts * test + 0.5).astype(np.int64)
    take = np.where(counts > 1, np.minimum(take, counts - 1), 0)
    held_sorted = rank < np.repeat(take, counts)
    held = np.zeros(n, dtype=bool)
    held[order[held_sorted]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def interactions(user: np.ndarray, movie: np.ndarray, n_users: int, n_movies: int):  # -> scipy.sparse.csr_matrix
    """The rated/not-rated matrix, for exclusions and relevance.

    Args:
        user: user index per row.
        movie: movie index per row.
        n_users: rows of the matrix.
        n_movies: columns.

    Returns:
        scipy.sparse.csr_matrix of bool, shape (n_users, n_movies), duplicates merged.
    """
    import scipy.sparse as sp

    m = sp.csr_matrix(
        (np.ones(len(user), dtype=np.bool_), (np.asarray(user), np.asarray(movie))),
        shape=(n_users, n_movies),
    )
    m.sum_duplicates()
    m.sort_indices()
    return m
