"""A movie's row kept in the shared cache for its page, so that a cached movie page reads no database.

The page read the row (with the person's marks) in one query, a round trip in which a sync web
worker's core sits idle. The row is now one more key of the page's one cache read. Its rating
totals change with every rating: each change of totals (movies/totals.py) and every save or delete
of a Movie drops the entry, and again once its transaction commits, so the next view reads the row
again.
A view that read the row just before such a commit may store the older row after the drop; the
short lifetime bounds that, and whatever else writes rows in bulk (the importer), to ROW_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from movies.catalogue_generation import catalogue_changed
from movies.models import Movie
from recommender import cache_keys

ROW_SECONDS = 60
_FIELDS = [f.attname for f in Movie._meta.concrete_fields]


def movie_from_row(row: tuple) -> Movie:
    """The Movie a cached row holds (as if read from the database)."""
    return Movie.from_db("default", _FIELDS, list(row))


def movie_row_store(movie: Movie) -> None:
    cache.set(cache_keys.movie_row(movie.pk), tuple(getattr(movie, name) for name in _FIELDS), ROW_SECONDS)


def movie_rows_forget(movie_ids: Iterable[int]) -> None:
    """Drop these movies' cached rows now, and again when the current transaction commits: a view
    that read the old row meanwhile may have stored it back. The sections showing any movie
    learn of it through the catalogue generation."""
    keys = [cache_keys.movie_row(int(m)) for m in movie_ids]
    if keys:
        cache.delete_many(keys)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: cache.delete_many(keys))
        catalogue_changed()


def _forget_saved(sender: type, instance: Movie, **kwargs: Any) -> None:
    movie_rows_forget([instance.pk])


post_save.connect(_forget_saved, sender=Movie, dispatch_uid="movies.row_cache.saved")
post_delete.connect(_forget_saved, sender=Movie, dispatch_uid="movies.row_cache.deleted")
