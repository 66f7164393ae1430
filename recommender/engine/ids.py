"""Raw ids (MovieLens ids, Django primary keys) <-> contiguous indexes, the artefact's id maps.

Numpy only: every web process loads factors, and with them these maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Unknown = Literal["raise", "missing"]
MISSING = -1


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


class UsersAndMovies:
    """The counts of a class that holds the users' and the movies' IdIndex (Ratings, Factors)."""

    users: IdIndex
    movies: IdIndex

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_movies(self) -> int:
        return len(self.movies)
