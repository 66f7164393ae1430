"""The section cache: rendered page sections kept in the shared cache, so a page view rarely touches the database.

Four kinds:
- personal sections (the home page's picks and genre rows): one entry per user, stamped with the
  active model version and the user's generation (recommender.services.user_generation). One
  round trip reads the generation and the entry; a stamp that differs means the entry is stale.
  Bumping the generation (a rating, a dismissal, a list refresh) or activating a version makes
  every old entry stale at once.
- shared sections (the movie page's similar movies, cluster and tags): one entry per movie and
  active version, the same for everybody.
- the user's side of the model (for predicted stars), stamped like a personal section.
- each genre's best rated movies as rendered cards, the same for everybody, kept a few minutes.

Forms inside a cached section carry a placeholder instead of the CSRF token (it belongs to the
session, not to the section); the request's own token replaces it on the way out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

from movies.models import Movie
from recommender import cache_keys
from recommender.services.experiments import serving_version_id
from recommender.services.factors_cache import active_factors, active_version_id
from recommender.services.picks import user_side
from recommender.services.user_generation import spread_lifetime, user_generation_key, user_stamped

# An entry outlives no change of its inputs (those bump the stamp); the time limit only bounds how
# long catalogue totals (averages, counts) shown inside it can lag.
PERSONAL_SECONDS = 300
SHARED_SECONDS = 600
CSRF_PLACEHOLDER = "csrf-token-of-this-request"


def personal_section(request: HttpRequest, name: str, render: Callable[[dict], str]) -> SafeString:
    """The user's section `name`, from the cache when still current, else rendered and stored.

    `render` gets extra context to pass to the template (the CSRF placeholder).
    """
    user_id = request.user.pk
    key = cache_keys.personal_section(name, user_id)
    found = cache.get_many([user_generation_key(user_id), key])
    html = user_stamped(
        found,
        user_id=user_id,
        key=key,
        version_id=serving_version_id(user_id),  # an experiment's challenger arm has its own entries
        build=lambda: render({"csrf_token": CSRF_PLACEHOLDER}),
        seconds=PERSONAL_SECONDS,
    )
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 (our own rendered template)


def movie_page_parts(
    user: AbstractBaseUser | AnonymousUser, movie: Movie, render_about: Callable[[], dict[str, str]]
) -> tuple[dict[str, SafeString], float | None]:
    """The movie page's parts shown to everybody, and the user's predicted stars, in one cache read.

    The parts are kept per movie and active version. The stars need the user's side of the model
    (a trained row or a folded-in vector, which costs a read of all their ratings): it is kept per
    user, version and generation, and the stars are then one dot product.
    """
    loaded = active_factors()
    version_id = loaded[0] if loaded is not None else 0
    about_key, side_key = cache_keys.movie_section(movie.pk, version_id), cache_keys.user_side(user.pk)
    personal = loaded is not None and user.is_authenticated
    found = cache.get_many([about_key, user_generation_key(user.pk), side_key] if personal else [about_key])
    parts = found.get(about_key)
    if parts is None:
        parts = render_about()
        cache.set(about_key, parts, spread_lifetime(SHARED_SECONDS))
    about = {part: mark_safe(html) for part, html in parts.items()}  # noqa: S308 (our own rendered templates)
    if not personal:
        return about, None
    _, factors = loaded
    index = factors.movie_index(movie.pk)
    if index is None:
        return about, None
    side = user_stamped(
        found,
        user_id=user.pk,
        key=side_key,
        version_id=version_id,
        build=lambda: user_side(factors, user.pk),
        seconds=PERSONAL_SECONDS,
    )
    if side is None:
        return about, None
    return about, float(factors.predict_ratings(side, np.array([index]))[0])


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
