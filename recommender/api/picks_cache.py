"""Each user's finished picks body (GET /api/me/picks), kept in the shared cache.

A repeated call then costs one cache round trip (the user's generation and the entry, in one
get_many) after the token's. The entry is stamped with the active version and the user's
generation (recommender.services.user_generation), which user_picks_refresh bumps after every
rating, deletion or dismissal of theirs: a stamp that differs means the entry is stale and the
body is built again. The key holds the user and the query (n, genre), so no body is ever read
for another user or another query. API_PICKS_CACHE_SECONDS = 0 turns the cache off.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from recommender import cache_keys
from recommender.services.experiments import serving_version_id
from recommender.services.user_generation import user_generation_key, user_stamped


def picks_body(*, user_id: int, n: int, genre: str | None, build: Callable[[], bytes]) -> bytes:
    """The user's picks body for (n, genre): from the cache while its stamp is current, else build()."""
    seconds = settings.API_PICKS_CACHE_SECONDS
    if seconds <= 0:
        return build()
    key = cache_keys.api_picks(user_id=user_id, n=n, genre=genre)
    version_id = serving_version_id(user_id)  # an experiment's challenger arm has its own entries
    found = cache.get_many([user_generation_key(user_id), key])
    body = user_stamped(found, user_id=user_id, key=key, version_id=version_id, build=build, seconds=seconds)
    if serving_version_id(user_id) != version_id:
        # Another version went live while the body was built: it may come from either, so keep
        # nothing under the old stamp (a roll-back and forth within the entry's life would find it).
        cache.delete(key)
    return body
