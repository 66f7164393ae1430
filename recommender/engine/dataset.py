"""Ratings to contiguous indexes, and the two seeded evaluation splits.

Pure numpy/pandas: web processes import this module, so it must not pull in
TensorFlow (scikit-learn is imported lazily, only by the rating split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Unknown = Literal["raise", "missing"]
MISSING = -1

REQUIRED_COLUMNS = ("userId", "movieId", "rating")


class UnknownIdError(KeyError):
    """Raised when a raw id is not in an index and the caller asked for an error."""


@dataclass(frozen=True)
class IdIndex:
    """Raw ids (MovieLens/Django primary keys) <-> contiguous indexes 0..n-1.

    The raw ids are kept sorted so that lookups are a binary search
    (`np.searchsorted`): no Python dict, and the index is itself an array that
    can be saved in the artefact.
    """

    raw: np.ndarray

    @classmethod
    def from_values(cls, values: np.ndarray) -> IdIndex:
        """Build the index of the distinct values.

        Args:
            values: raw ids, any integer dtype, duplicates allowed.

        Returns:
            An index whose position i holds the i-th smallest distinct id.
        """
        return cls(np.unique(np.asarray(values, dtype=np.int64)))

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def index(self, raw_ids: np.ndarray | list[int], *, unknown: Unknown = "raise") -> np.ndarray:
        """Map raw ids to indexes.

        Args:
            raw_ids: raw ids to look up.
            unknown: "raise" raises UnknownIdError naming the first unknown id;
                "missing" maps unknown ids to -1 so the caller decides (drop, fallback).
                Never a silent wrong index.

        Returns:
            int32 array of indexes, same shape as raw_ids.
        """
        ids = np.asarray(raw_ids, dtype=np.int64)
        if len(self) == 0:
            pos = np.zeros(ids.shape, dtype=np.int64)
            found = np.zeros(ids.shape, dtype=bool)
        else:
            pos = np.searchsorted(self.raw, ids)
            pos = np.minimum(pos, len(self) - 1)
            found = self.raw[pos] == ids
        if not found.all():
            if unknown == "raise":
                first = ids[~found].flat[0]
                raise UnknownIdError(f"unknown id {int(first)} ({int((~found).sum())} unknown of {ids.size})")
            pos = np.where(found, pos, MISSING)
        return pos.astype(np.int32)

    def get(self, raw_id: int) -> int | None:
        """The index of one raw id, or None when it is unknown.

        Args:
            raw_id: one raw id.

        Returns:
            Its index, or None.
        """
        i = int(self.index([raw_id], unknown="missing")[0])
        return None if i == MISSING else i

    def raw_ids(self, indexes: np.ndarray | list[int]) -> np.ndarray:
        """Map indexes back to raw ids.

        Args:
            indexes: indexes in 0..n-1 (negative or out-of-range indexes raise IndexError).

        Returns:
            int64 array of raw ids.
        """
        idx = np.asarray(indexes, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"index out of range 0..{len(self) - 1}")
        return self.raw[idx]


@dataclass(frozen=True)
class Ratings:
    """A ratings table with contiguous user and movie indexes (one row per rating)."""

    users: IdIndex
    movies: IdIndex
    user: np.ndarray  # int32 user index per rating
    movie: np.ndarray  # int32 movie index per rating
    rating: np.ndarray  # float32 stars

    def __len__(self) -> int:
        return int(self.user.shape[0])

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_movies(self) -> int:
        return len(self.movies)

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
