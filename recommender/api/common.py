"""Helpers shared by the API's routers: paging, error codes, genre names."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from movies import selectors as movie_selectors
from movies.models import Movie
from recommender.api.schemas import ErrorOut

logger = logging.getLogger(__name__)

# Every status an operation may answer besides 200, each with the same JSON body,
# so the schema tells clients (and schemathesis) what to expect.
PUBLIC_ERRORS: dict[frozenset[int], type[ErrorOut]] = {frozenset({400, 404, 422}): ErrorOut}
USER_ERRORS: dict[frozenset[int], type[ErrorOut]] = {frozenset({400, 401, 403, 404, 422}): ErrorOut}
# Operations with a JSON body also refuse another content type (recommender/api/strict.py).
BODY_ERRORS: dict[frozenset[int], type[ErrorOut]] = {frozenset({400, 401, 403, 404, 415, 422}): ErrorOut}
MAX_PAGE = 100_000


def page_of(items: QuerySet, *, page: int, page_size: int) -> dict[str, Any]:
    """One page of a queryset with its total; a page past the end is empty, not an error."""
    count = items.count()
    start = (page - 1) * page_size
    results = list(items[start : start + page_size]) if start < count else []
    return {"count": count, "page": page, "pages": max(1, math.ceil(count / page_size)), "results": results}


# Genre names per movie id, kept in the process for GENRES_TTL seconds. A movie's genres change
# only when an import rewrites them, and the query for them would be a sizeable part of a picks call.
GENRES_TTL = 300.0
_genres: dict[int, tuple[float, list[str]]] = {}


def with_genre_names(movies: Iterable[Movie | None]) -> None:
    """Give movies loaded without their genres the names (at most one query), for MovieOut."""
    todo = [m for m in movies if m is not None and not hasattr(m, "_genre_names")]
    now = time.monotonic()
    fresh = {m.pk: _genres[m.pk][1] for m in todo if m.pk in _genres and now - _genres[m.pk][0] < GENRES_TTL}
    missing = {m.pk for m in todo} - fresh.keys()
    if missing:
        loaded = movie_selectors.movie_genre_names(movie_ids=missing)
        if len(_genres) > 200_000:  # a bound, far above any catalogue we serve
            _genres.clear()
        _genres.update((movie_id, (now, names)) for movie_id, names in loaded.items())
        fresh.update(loaded)
    for movie in todo:
        movie._genre_names = fresh.get(movie.pk, [])  # type: ignore[attr-defined]
