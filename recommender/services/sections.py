"""The section cache: rendered page sections kept in the shared cache, so a page view rarely touches the database.

Four kinds:
- personal sections (the home page's picks and genre rows): one entry per user, stamped with the
  active model version and the user's generation (recommender.services.user_generation). One
  round trip reads the generation and the entry; a stamp that differs means the entry is stale.
  Bumping the generation (a rating, a dismissal, a list refresh) or activating a version makes
  every old entry stale at once.
- shared sections (the movie page's similar movies, cluster and tags): one entry per movie and
  active version, the same for everybody; the movie's histogram, one entry per movie stamped with
  the rating count and sum it was drawn at.
- the user's side of the model (for predicted stars) and their marks (their stars, dismissals and
  saved movies, for a movie's page), stamped like a personal section; and each movie's row
  (movies/row_cache.py).
- each genre's best rated movies as rendered cards, the same for everybody, kept a few minutes.

Forms inside a cached section carry a placeholder instead of the CSRF token (it belongs to the
session, not to the section); the request's own token replaces it on the way out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

from movies.catalogue_generation import catalogue_generation_in, catalogue_generation_key
from movies.models import Movie
from movies.row_cache import movie_from_row
from recommender import cache_keys
from recommender.engine.factors import Factors, UserVector
from recommender.services.experiments import serving_version_id
from recommender.services.factors_cache import active_factors, active_version_id
from recommender.services.picks import UserMarks, user_side_and_marks
from recommender.services.user_generation import (
    refresh_claim,
    same_build,
    spread_lifetime,
    stamped_keep,
    stamped_store,
    user_generation_key,
    user_stamp_in,
    user_stamped,
)

# An entry outlives no change of its inputs (those bump the stamp); the time limit only bounds how
# long catalogue totals (averages, counts) shown inside it can lag. Past it, a section with a refresh
# is served for PERSONAL_STALE_SECONDS more while a worker renders it again (or keeps it, when the
# catalogue generation says no movie changed), so a person's page waits on a render only after their
# own change (or a new version), and the lag stays under 15 minutes.
PERSONAL_SECONDS = 300
PERSONAL_STALE_SECONDS = 600
SHARED_SECONDS = 600
SHARED_STALE_SECONDS = 600
# The user's side of the model and a movie's histogram hold what their stamps say they hold, however
# old: their lifetime only lets unused ones go.
SIDE_SECONDS = 3600
HISTOGRAM_SECONDS = 3600
CSRF_PLACEHOLDER = "csrf-token-of-this-request"
# A user's side of the model (None before any rating) and their marks, as movie_page_user keeps them.
UserPageSide = tuple[int | UserVector | None, UserMarks]


def csrf_token_of(request: HttpRequest) -> str:
    """The request's CSRF token for the placeholders, made once: every get_token() masks the secret
    anew (32 random characters, a tenth of a millisecond), and a page fills two or three parts."""
    token = getattr(request, "_csrf_token_of_page", None)
    if token is None:
        token = get_token(request)
        request._csrf_token_of_page = token  # type: ignore[attr-defined]
    return token


def personal_section(
    request: HttpRequest, name: str, render: Callable[[dict], str], refresh: Callable[[], None] | None = None
) -> bytes:
    """The user's section `name` as UTF-8, from the cache when still current, else rendered and stored.

    Kept as UTF-8 bytes, the form a response sends: a 240 KB home section took 0.13 ms to unpickle
    as text on each view, 0.01 ms as bytes.

    `render` gets extra context to pass to the template (the CSRF placeholder). With `refresh`, an
    entry past its fresh lifetime is still served (for PERSONAL_STALE_SECONDS) and refresh() is
    asked to store a new one (personal_section_store, in a worker): only a change of the user's own
    (their generation) or of the version makes this request render it.
    """
    user_id = request.user.pk
    key = cache_keys.personal_section(name, user_id)
    found = cache.get_many([user_generation_key(user_id), catalogue_generation_key(), key])
    html = user_stamped(
        found,
        user_id=user_id,
        key=key,
        version_id=serving_version_id(user_id),  # an experiment's challenger arm has its own entries
        build=lambda: render({"csrf_token": CSRF_PLACEHOLDER}).encode(),
        seconds=PERSONAL_SECONDS,
        refresh=refresh,
        stale_seconds=PERSONAL_STALE_SECONDS,
        catalogue=catalogue_generation_in(found),
    )
    if isinstance(html, str):  # stored as text by an earlier release
        html = html.encode()
    return html.replace(CSRF_PLACEHOLDER.encode(), csrf_token_of(request).encode())


def personal_section_store(*, user_id: int, name: str, render: Callable[[dict], str]) -> None:
    """Store the user's section `name` anew (a worker's refresh of a stale entry): the entry kept as it
    is when nothing it shows has changed since it was rendered, else rendered now."""
    key = cache_keys.personal_section(name, user_id)
    found = cache.get_many([user_generation_key(user_id), catalogue_generation_key(), key])
    stamp = user_stamp_in(found, user_id=user_id, version_id=serving_version_id(user_id))
    catalogue = catalogue_generation_in(found)
    lifetime = {"seconds": PERSONAL_SECONDS, "stale_seconds": PERSONAL_STALE_SECONDS}
    if stamped_keep(found, key, stamp, catalogue, **lifetime):
        return
    html = render({"csrf_token": CSRF_PLACEHOLDER}).encode()
    stamped_store(key, stamp, html, catalogue=catalogue, **lifetime)


@dataclass(frozen=True)
class MoviePageRead:
    """What one cache read gave for a movie's page (movie_page_read), before the movie's row is read."""

    found: dict[str, Any]
    about_key: str
    histogram_key: str
    side_key: str
    row_key: str
    loaded: tuple[int, Factors] | None
    personal: bool

    def similar_ids(self) -> list[int]:
        """The similar movies the cached parts show (none when the parts are not cached)."""
        entry = self.found.get(self.about_key)
        return [int(i) for i in entry[0].get("similar_ids", "").split(",") if i] if entry else []

    def has_about(self) -> bool:
        return self.about_key in self.found

    def movie(self) -> Movie | None:
        """The movie's row as the cache keeps it (movies/row_cache.py); None when it is not kept."""
        row = self.found.get(self.row_key)
        return movie_from_row(row) if row is not None else None


def movie_page_read(user: AbstractBaseUser | AnonymousUser, movie_id: int) -> MoviePageRead:
    """One cache read for everything a movie's page keeps in the cache: the parts shown to everybody,
    its histogram, its row, and the user's generation and side of the model with their marks.

    With all of them current, a movie's page reads no database.
    """
    loaded = active_factors()
    version_id = loaded[0] if loaded is not None else 0
    about_key, side_key = cache_keys.movie_section(movie_id, version_id), cache_keys.user_side(user.pk)
    histogram_key, row_key = cache_keys.movie_histogram(movie_id), cache_keys.movie_row(movie_id)
    personal = loaded is not None and user.is_authenticated
    keys = [about_key, histogram_key, row_key, catalogue_generation_key()]
    keys += [user_generation_key(user.pk), side_key] if personal else []
    return MoviePageRead(cache.get_many(keys), about_key, histogram_key, side_key, row_key, loaded, personal)


def movie_page_user(read: MoviePageRead, user: AbstractBaseUser | AnonymousUser) -> UserPageSide | None:
    """The user's side of the model (None before any rating) and their marks, kept per user, version
    and generation: built from one read of everything they did (fold-in needs it all) when the read
    holds no current entry. None for anyone the model does not serve (signed out, no model)."""
    if not read.personal or read.loaded is None:
        return None
    version_id, factors = read.loaded
    return user_stamped(
        read.found,
        user_id=user.pk,
        key=read.side_key,
        version_id=version_id,
        build=lambda: user_side_and_marks(factors, user.pk),
        seconds=SIDE_SECONDS,
    )


def movie_page_parts(
    read: MoviePageRead,
    movie: Movie,
    render_about: Callable[[], dict[str, str]],
    render_histogram: Callable[[], str],
    refresh_about: Callable[[], None] | None = None,
    person: UserPageSide | None = None,
) -> tuple[dict[str, SafeString], float | None]:
    """The movie page's parts shown to everybody, and the user's predicted stars.

    The parts are kept per movie and active version. The histogram is kept per movie with the
    movie's rating count and sum it was drawn at: a rating changes those in the movie's row (read
    for every view), so the next view draws it again, whoever rated and however (page, API, an
    account deleted). The stars are one dot product with the user's side of the model (`person`,
    from movie_page_user). With `refresh_about`, parts past their fresh lifetime are
    served SHARED_STALE_SECONDS more while refresh_about() has a worker store new ones
    (movie_section_store).
    """
    found = read.found
    entry = found.get(read.about_key)
    if entry is None:
        parts = render_about()
        _movie_section_set(read.about_key, parts, catalogue_generation_in(found))
    else:
        parts, fresh_until = entry[0], entry[1]
        if refresh_about is not None and time.time() >= fresh_until and refresh_claim(read.about_key):
            refresh_about()
    about = {part: mark_safe(html) for part, html in parts.items()}  # noqa: S308 (our own rendered templates)
    totals = (movie.ratings_count, movie.ratings_sum)
    histogram = found.get(read.histogram_key)
    if histogram is None or histogram[0] != totals:
        histogram = (totals, render_histogram())
        cache.set(read.histogram_key, histogram, spread_lifetime(HISTOGRAM_SECONDS))
    about["histogram"] = mark_safe(histogram[1])  # noqa: S308 (our own rendered template)
    if person is None or person[0] is None or read.loaded is None:
        return about, None
    factors = read.loaded[1]
    index = factors.movie_index(movie.pk)
    if index is None:
        return about, None
    return about, float(factors.predict_ratings(person[0], np.array([index]))[0])


def movie_section_store(*, movie_id: int, render_about: Callable[[], dict[str, str]]) -> None:
    """Store the shared parts of a movie's page under the active version anew (a worker's refresh of
    stale parts): kept as they are when nothing they show has changed since they were rendered,
    else rendered now."""
    key = cache_keys.movie_section(movie_id, active_version_id())
    found = cache.get_many([key, catalogue_generation_key()])
    catalogue = catalogue_generation_in(found)
    entry = found.get(key)
    if entry is not None and same_build(entry[2], entry[3], catalogue):
        _movie_section_set(key, entry[0], catalogue, built_at=entry[3])
    else:
        _movie_section_set(key, render_about(), catalogue)
    cache.delete(cache_keys.refresh_claim(key))


def _movie_section_set(
    key: str, parts: dict[str, str], catalogue: int | None, *, built_at: float | None = None
) -> None:
    """Store a movie page's shared parts with the catalogue generation read before they were rendered,
    and when they were (now, unless kept)."""
    fresh = spread_lifetime(SHARED_SECONDS)
    now = time.time()
    entry = (parts, now + fresh, catalogue, now if built_at is None else built_at)
    cache.set(key, entry, fresh + SHARED_STALE_SECONDS)


def genre_top_cards(
    *, genre_ids: Sequence[int], min_ratings: int, build: Callable[[int], list[tuple[int, str]]], seconds: int
) -> dict[int, list[tuple[int, str]]]:
    """genre id -> its best rated movies as (movie id, card html), the same for everybody.

    One cache read for every genre; a genre missing there is build(genre_id) and stored for
    between half of `seconds` and all of it. A card rendered once here serves every user: the
    caller takes out each user's own movies.
    """
    keys = {genre_id: cache_keys.genre_top(genre_id, min_ratings) for genre_id in genre_ids}
    found = cache.get_many(list(keys.values()))
    tops: dict[int, list[tuple[int, str]]] = {}
    for genre_id, key in keys.items():
        top = found.get(key)
        if top is None:
            top = build(genre_id)
            cache.set(key, top, spread_lifetime(seconds))
        tops[genre_id] = top
    return tops


def movie_sections_forget(*, movie_ids: Sequence[int]) -> None:
    """Drop the cached shared parts of these movies' pages (after their TMDb details changed)."""
    version_id = active_version_id()
    cache.delete_many([cache_keys.movie_section(movie_id, version_id) for movie_id in movie_ids])
