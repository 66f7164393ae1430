"""MovieLens user ids mapped to Django users, created on the way."""

from __future__ import annotations

import numpy as np

from movies.importers import known_mask
from movies.importing.writers import Writer
from movies.models import MovieLensAccount


class UserMap:
    """MovieLens user ids to Django user ids, creating the missing users on the way.

    Two sorted arrays and searchsorted: 200k users map 25M ratings in about a second.
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        pairs = np.array(list(MovieLensAccount.objects.values_list("movielens_id", "user_id")), dtype=np.int64)
        pairs = pairs.reshape(-1, 2)
        order = np.argsort(pairs[:, 0])
        self.ml = pairs[order, 0]
        self.django = pairs[order, 1]
        self.seen: list[np.ndarray] = []
        self.created = 0
        self.created_ids: list[int] = []

    @property
    def seen_count(self) -> int:
        return len(np.unique(np.concatenate(self.seen))) if self.seen else 0

    def ids_for(self, ml_ids: np.ndarray, count_seen: bool = True) -> np.ndarray:
        unique = np.unique(ml_ids)
        if count_seen:
            self.seen.append(unique)
        if len(self.seen) > 64:
            self.seen = [np.unique(np.concatenate(self.seen))]
        missing = unique[~known_mask(self.ml, unique)]
        if len(missing):
            created = self.writer.create_users(missing)
            self.created += len(missing)
            self.created_ids.extend(created.tolist())
            ml = np.concatenate([self.ml, missing])
            dj = np.concatenate([self.django, created])
            order = np.argsort(ml, kind="stable")
            self.ml, self.django = ml[order], dj[order]
        return self.django[np.searchsorted(self.ml, ml_ids)]

    def id_for(self, ml_id: int) -> int:
        return int(self.ids_for(np.array([ml_id], dtype=np.int64))[0])
