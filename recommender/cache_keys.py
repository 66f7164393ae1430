"""Every cache and Redis key of the project, built in one place.

Keys in the Django cache (Redis database 1 in production; Django adds KEY_PREFIX) carry
what makes them stale: a format tag (v1, v2) a release bumps when what it stores changes
shape, and the model version where the value depends on it. Keys in the lists database
(recommender.store) sit under RECOMMENDER_LISTS_PREFIX, so several sites can share a Redis.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

# --- Django cache -------------------------------------------------------------------------------


def user_generation(user_id: int) -> str:
    """The number a user's personal entries are stamped with (recommender.services.user_generation)."""
    return f"usergen:{user_id}"


def catalogue_generation() -> str:
    """The number that changes with anything shown of any movie (movies/catalogue_generation.py)."""
    return "catalogue-generation"


def personal_section(name: str, user_id: int) -> str:
    """A page section rendered for one user (the home page's content); v2 holds when it goes stale."""
    return f"section:v2:{name}:{user_id}"


def refresh_claim(key: str) -> str:
    """Taken by the process that asks for the stale entry under key to be rendered again."""
    return f"refresh:{key}"


def movie_section(movie_id: int, version_id: int) -> str:
    """The parts of a movie's page everybody sees under one model version; v2 holds when they go stale,
    v3 the catalogue generation they were rendered at."""
    return f"section:movie:v3:{movie_id}:v{version_id}"


def movie_histogram(movie_id: int) -> str:
    """How a movie's ratings spread over the stars, rendered, with the totals it was drawn at."""
    return f"movie-histogram:v1:{movie_id}"


def user_side(user_id: int) -> str:
    """The user's side of the model (a trained row or a folded-in vector) and their marks; v2 added the marks."""
    return f"user-side:v2:{user_id}"


def movie_row(movie_id: int) -> str:
    """A movie's row, every column, as its page reads it (movies/row_cache.py)."""
    return f"movie-row:v1:{movie_id}"


def genre_top(genre_id: int, min_ratings: int) -> str:
    """A genre's best rated movies as (id, card html) pairs; v2 is the pairs' format."""
    return f"genre-top:v2:{genre_id}:{min_ratings}"


def pick_groups(version_id: int) -> str:
    """The groups of movies onboarding offers under a model version, as (label, name, movie ids)."""
    return f"pick-groups:v1:v{version_id}"


def catalogue_totals() -> str:
    """How many movies and ratings the catalogue holds (the home page's line)."""
    return "catalogue-totals:v1"


def api_picks(*, user_id: int, n: int, genre: str | None) -> str:
    """The body of GET /api/me/picks for one user and query. The genre filter ignores case, so the
    key does too; it is hashed because a query value may hold anything a cache key must not."""
    query = f"{n}:" + (hashlib.sha1(genre.lower().encode(), usedforsecurity=False).hexdigest()[:16] if genre else "")
    return f"api-picks:{user_id}:{query}"


def api_picks_of_user(user_id: int) -> str:
    """A pattern matching every api_picks key of one user (for caches that can delete by pattern)."""
    return f"api-picks:{user_id}:*"


def auth_user(user_id: object) -> str:
    """A session's user without the password hash (accounts.auth_backend)."""
    return f"auth-user:v2:{user_id}"


def api_token(digest: str) -> str:
    """A remembered API token lookup, by the hash of its secret (accounts.tokens)."""
    return f"api-token:v2:{digest}"


# --- Attempt counters in the Django cache (accounts.login_limit) -------------------------------


class CounterKeys(NamedTuple):
    """The two entries of one attempt counter: when its window opened, and the attempts in it."""

    since: str
    n: str


def _counter(name: str) -> CounterKeys:
    return CounterKeys(f"{name}:since", f"{name}:n")


def _hashed(text: str) -> str:
    # User input of any length and characters, unfit for a cache key as it is; case and outer
    # spaces do not make another account.
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


def login_failures_of_account(username: str, address: str) -> CounterKeys:
    """Logins tried for one username from one address."""
    return _counter(f"login-fail:acct:{_hashed(username)}:{address}")


def login_failures_of_address(address: str) -> CounterKeys:
    """Logins tried from one address, whatever the usernames."""
    return _counter(f"login-fail:addr:{address}")


def reset_requests_of_email(email: str) -> CounterKeys:
    """Password reset emails asked for one address, whoever asked."""
    return _counter(f"reset:email:{_hashed(email)}")


def reset_requests_of_address(address: str) -> CounterKeys:
    """Password reset emails asked from one client address."""
    return _counter(f"reset:addr:{address}")


# --- Lists database (recommender.store), under RECOMMENDER_LISTS_PREFIX -------------------------


class ListsKeys(NamedTuple):
    """The keys of the lists database under one prefix: ListsKeys(settings.RECOMMENDER_LISTS_PREFIX)."""

    prefix: str

    def live(self) -> str:
        """The version whose lists are served."""
        return f"{self.prefix}:live"

    def of_version(self, version_id: int) -> str:
        """The hash of every user's list for one version."""
        return f"{self.prefix}:v{version_id}:top"

    def every_key(self) -> str:
        """A SCAN pattern matching every key of the lists database under the prefix."""
        return f"{self.prefix}:*"

    def every_version(self) -> str:
        """A SCAN pattern matching the lists hash of every version."""
        return f"{self.prefix}:v*:top"

    def retrain_lock(self) -> str:
        """The lock that lets one retrain run at a time (recommender.retrain_lock)."""
        return f"{self.prefix}:retrain-lock"

    def impressions_queue(self) -> str:
        """The Redis list of impressions waiting to be written to the database (services.impressions)."""
        return f"{self.prefix}:impressions"

    def impressions_flush_lock(self) -> str:
        """Held while one process moves queued impressions to the database, so two never write one batch."""
        return f"{self.prefix}:impressions-flush"
