"""A number per user that changes whenever what the site shows them personally can change.

Pages cache what they render for a user under the active version and this
number (recommender.services.sections, recommender.api.picks_cache); bumping it makes every such entry unreachable at
once, so nobody sees a section from before their own rating, dismissal or list
refresh. A new active version needs no bump: the version is part of those keys.

The number lives in the Django cache (Redis in production, shared by every web
process). It starts from the clock rather than 0: if the key is lost (evicted,
Redis flushed) a fresh start cannot come back to a value an old entry was stored under.
When the cache is away, each read gives a new number, so nothing stale is ever served.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.cache import cache

from recommender import cache_keys

T = TypeVar("T")

# Longer than anything stored under a generation lives (sections and picks bodies are kept minutes).
_TTL = 7 * 24 * 3600
# A stale entry's refresh is asked for once in this time: a refresh that was lost (no worker) is asked again.
REFRESH_CLAIM_SECONDS = 60
# A refresh keeps an entry whose inputs did not change (stamped_keep) for at most this long after it was
# built: it bounds what no generation sees, rows written by hand in SQL and what moves with the days
# alone (how many days a pick was shown, skips that expire).
KEEP_SECONDS = 3600


def user_generation_key(user_id: int) -> str:
    return cache_keys.user_generation(user_id)


def user_generation(*, user_id: int) -> int:
    """The user's current generation (created on first use)."""
    return generation_read(user_generation_key(user_id))


def user_generation_bump(*, user_id: int) -> None:
    """Call after anything that changes the user's picks (ratings, dismissals, a list refresh)."""
    generation_bump(user_generation_key(user_id))


def generation_read(key: str) -> int:
    """The generation number under key (created on first use)."""
    found = cache.get(key)
    if found is not None:
        return int(found)
    fresh = time.time_ns()
    cache.add(key, fresh, timeout=_TTL)  # another process may have added one first: theirs wins
    found = cache.get(key)
    return int(found) if found is not None else fresh


def generation_bump(key: str) -> None:
    """Change the generation number under key."""
    try:
        cache.incr(key)
    except ValueError:  # no number yet (or it expired): any fresh clock value differs from the old one
        cache.set(key, time.time_ns(), timeout=_TTL)


def user_stamped(
    found: Mapping[str, Any],
    *,
    user_id: int,
    key: str,
    version_id: int,
    build: Callable[[], T],
    seconds: int,
    refresh: Callable[[], None] | None = None,
    stale_seconds: int = 0,
    catalogue: int | None = None,
) -> T:
    """The value stored for the user under key if its stamp is current, else build() stored anew.

    `found` is what one cache.get_many of key and user_generation_key(user_id) gave, so a current
    entry costs that one round trip. The stamp is (version_id, the user's generation), the
    generation read before build() runs: a change that bumps it while build() reads makes
    what build() stored unreachable. The entry is fresh for between half of `seconds` and all of
    it; with `refresh`, it is then still served for `stale_seconds` more, and refresh() is called
    (at most once a minute per key, whichever process sees it first) to store a fresh one meanwhile.
    `catalogue` is the catalogue generation `found` holds (movies.catalogue_generation), kept with
    what build() stores so that a refresh can tell whether rendering again would change it
    (stamped_keep).
    """
    stamp = user_stamp_in(found, user_id=user_id, version_id=version_id)
    entry = found.get(key)
    if entry is not None and entry[0] == stamp:
        if refresh is not None and len(entry) > 2 and time.time() >= entry[2] and refresh_claim(key):
            refresh()
        return entry[1]
    value = build()
    stamped_store(
        key, stamp, value, seconds=seconds, stale_seconds=stale_seconds if refresh else 0, catalogue=catalogue
    )
    return value


def user_stamp_in(found: Mapping[str, Any], *, user_id: int, version_id: int) -> tuple[int, int]:
    """The stamp an entry built now for the user gets, from a cache.get_many that asked for
    user_generation_key(user_id) before building it (see user_stamped)."""
    generation = found.get(user_generation_key(user_id))
    return (version_id, int(generation) if generation is not None else user_generation(user_id=user_id))


def stamped_store(
    key: str,
    stamp: tuple[int, int],
    value: object,
    *,
    seconds: int,
    stale_seconds: int = 0,
    catalogue: int | None = None,
    built_at: float | None = None,
) -> None:
    """Store value under key with its stamp, fresh for a spread lifetime, then kept stale_seconds more.

    The entry also holds the catalogue generation read before value was built (None: unknown) and
    when it was built (now, unless kept from an earlier entry by stamped_keep).
    """
    fresh = spread_lifetime(seconds)
    now = time.time()
    cache.set(key, (stamp, value, now + fresh, catalogue, now if built_at is None else built_at), fresh + stale_seconds)
    if stale_seconds:
        cache.delete(cache_keys.refresh_claim(key))


def stamped_keep(
    found: Mapping[str, Any], key: str, stamp: tuple[int, int], catalogue: int, *, seconds: int, stale_seconds: int
) -> bool:
    """Store the entry `found` holds under key again as fresh, if building it now would give the same
    value: it has this stamp and was built at this catalogue generation, less than KEEP_SECONDS ago.
    False when it has to be built again."""
    entry = found.get(key)
    if entry is None or len(entry) < 5 or entry[0] != stamp or not same_build(entry[3], entry[4], catalogue):
        return False
    stamped_store(
        key, stamp, entry[1], seconds=seconds, stale_seconds=stale_seconds, catalogue=catalogue, built_at=entry[4]
    )
    return True


def same_build(built_catalogue: int | None, built_at: float, catalogue: int) -> bool:
    """Whether what was built at catalogue generation `built_catalogue`, at time `built_at`, is what a build
    at generation `catalogue` gives now, as far as the generations can tell (KEEP_SECONDS)."""
    return built_catalogue == catalogue and time.time() - built_at < KEEP_SECONDS


def refresh_claim(key: str) -> bool:
    """True for the one caller that should have the entry under key rendered again (for a minute)."""
    return bool(cache.add(cache_keys.refresh_claim(key), 1, timeout=REFRESH_CLAIM_SECONDS))


def spread_lifetime(seconds: int) -> int:
    """A lifetime between half of `seconds` and all of it, drawn per entry.

    Entries made together (every user's after a burst of visits, a restart or an activation; every
    movie's after a crawl) would otherwise all expire in the same second and be rebuilt together, a
    few seconds in which the web processes do nothing else. Drawn, their rebuilds spread over half
    the lifetime.
    """
    return random.randint(max(1, seconds // 2), seconds)
