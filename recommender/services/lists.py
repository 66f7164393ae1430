"""Every user's top-N list for a version: computed in chunks, written to Redis, published at once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from movies.models import Dismissal, Rating
from recommender.engine.factors import Factors
from recommender.engine.ranking import recommend_all
from recommender.models import ModelVersion
from recommender.services.factors_cache import factors_for, forget
from recommender.services.versions import (
    State,
    artifact_dir,
    version_activate,
    version_update,
    versions_prune,
)
from recommender.store import get_store

if TYPE_CHECKING:
    import scipy.sparse as sp

log = logging.getLogger(__name__)


class ListsIncomplete(Exception):
    pass


def list_chunks(*, version: ModelVersion, size: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) ranges of user rows, one per Celery task."""
    size = size or settings.RECOMMENDER_LIST_CHUNK
    n_users = factors_for(version).n_users
    return [(start, min(start + size, n_users)) for start in range(0, n_users, size)]


def lists_failed(*, version: ModelVersion, error: str) -> None:
    """The lists could not be built: the version keeps its files and stays ready to try again."""
    version_update(version, state=State.READY, error=f"computing lists failed: {error}"[:5000])


def exclusions(factors: Factors, ratings_user: np.ndarray, ratings_movie: np.ndarray) -> sp.csr_matrix:
    """(user, movie) pairs never to pick as a [users, movies] matrix of the factors' indexes.

    Unknown ids are dropped. A pair given twice (rated and dismissed) stays two entries, which
    exclude the movie once: ranking only reads which columns a row holds, so the matrix is
    built straight from its rows' order (near linear for a snapshot sorted by user) with no
    de-duplicating sort.
    """
    import scipy.sparse as sp  # list workers only: web processes import this module, never scipy

    rows = _positions(factors.users.raw, ratings_user)
    cols = _positions(factors.movies.raw, ratings_movie)
    keep = (rows >= 0) & (cols >= 0)
    if not keep.all():
        rows, cols = rows[keep], cols[keep]
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(factors.n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=factors.n_users), out=indptr[1:])
    data = np.ones(len(rows), dtype=np.int8)
    return sp.csr_matrix((data, cols[order], indptr), shape=(factors.n_users, factors.n_movies))


def _positions(raw: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indexes of `ids` in the sorted array `raw`, -1 for ids not in it.

    Through a table of every id up to the largest (an array gather) when the ids are dense, as
    primary keys and MovieLens ids are: binary searches of 1.5M ids took longer than ranking them.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(raw) == 0 or raw[0] < 0 or raw[-1] > 8 * len(raw) + 1_000_000:
        pos = np.minimum(np.searchsorted(raw, ids), max(len(raw) - 1, 0))
        found = raw[pos] == ids if len(raw) else np.zeros(len(ids), dtype=bool)
        return np.where(found, pos, -1).astype(np.int32)
    table = np.full(int(raw[-1]) + 2, -1, dtype=np.int32)  # the last slot answers every id out of range
    table[raw] = np.arange(len(raw), dtype=np.int32)
    return table[np.clip(ids, -1, len(table) - 1)]


def lists_compute(*, version: ModelVersion, start: int, stop: int, threads: int | None = None) -> int:
    """Compute and store the lists of user rows [start, stop) of a version; returns how many.

    `threads` ranks that many user blocks at once (recommend_all's default when None); a
    Celery worker gives each chunk the cores its other processes leave free.
    """
    factors = factors_for(version)
    user_ids = factors.user_ids[start:stop]
    if len(user_ids) == 0:
        return 0
    users, movies = chunk_exclusions(version=version, low=int(user_ids[0]), high=int(user_ids[-1]))
    top = recommend_all(
        factors,
        n=settings.RECOMMENDER_LIST_LENGTH,
        exclude=exclusions(factors, users, movies),
        users=np.arange(start, stop),
        threads=threads,
    )
    movie_ids = np.where(top >= 0, factors.movie_ids[np.maximum(top, 0)], -1)
    store = get_store()
    if store is None:
        return 0
    store.put_many(version.pk, user_ids.tolist(), movie_ids)
    return len(user_ids)


def chunk_exclusions(*, version: ModelVersion, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, movie ids) that users low <= id <= high must not be offered: rated or dismissed.

    1. The ratings the version learned from come from its Parquet snapshot, sorted by
       user, so the chunk reads only its own row groups (no database scan).
    2. Ratings made since the snapshot (rated_at after the version started) come from the
       database through rating_rated_at_idx; a rating changed since then is in both, which
       excludes the same movie twice and changes nothing.
    3. Dismissals are not in the snapshot: all of the chunk's come from the database (a
       small table, read by its user index).
    A version without a snapshot file reads all of the chunk's ratings from the database.
    A rating deleted since the snapshot still excludes its movie until the next version.
    """
    from recommender.snapshot import ratings_snapshot, snapshot_read_users  # pandas/pyarrow: list workers only

    snapshot = snapshot_path(version)
    parts: list[np.ndarray] = []
    if version.started_at is not None and snapshot.exists():
        parts.append(np.column_stack(snapshot_read_users(snapshot, low, high)))
        since = Rating.objects.filter(rated_at__gt=version.started_at, user_id__gte=low, user_id__lte=high)
        parts.append(_pairs(since))
    else:
        rated = ratings_snapshot(users_between=(low, high))
        parts.append(np.column_stack([rated["userId"].to_numpy(), rated["movieId"].to_numpy()]))
    parts.append(_pairs(Dismissal.objects.filter(user_id__gte=low, user_id__lte=high)))
    pairs = np.concatenate([p.astype(np.int64, copy=False) for p in parts])
    return pairs[:, 0], pairs[:, 1]


def snapshot_path(version: ModelVersion) -> Path:
    """The Parquet snapshot of the ratings a version was trained on (services.versions writes it)."""
    return artifact_dir(version) / "ratings.parquet"


def _pairs(queryset: QuerySet) -> np.ndarray:
    return np.array(queryset.values_list("user_id", "movie_id"), dtype=np.int64).reshape(-1, 2)


def lists_publish(*, version: ModelVersion) -> ModelVersion:
    """Make a version live: check its lists are complete, activate it, switch Redis in one step.

    Users who rated after the training snapshot are refreshed by fold-in right
    after the switch, so their picks keep what they did meanwhile.
    """
    from recommender.services.picks import user_picks_refresh

    store = get_store()
    factors = factors_for(version)
    if store is not None and store.count(version.pk) < factors.n_users:
        raise ListsIncomplete(f"v{version.pk}: {store.count(version.pk):,} of {factors.n_users:,} lists written")
    version_activate(version=version)
    if store is not None:
        store.publish(version.pk)
    forget()
    if version.started_at:
        # Through rating_rated_at_idx: only the ratings made since the snapshot are read.
        recent = (
            Rating.objects.filter(rated_at__gt=version.started_at)
            .order_by()
            .values_list("user_id", flat=True)
            .distinct()
        )
        for user_id in list(recent):
            user_picks_refresh(user_id=user_id)
    versions_prune()
    return version
