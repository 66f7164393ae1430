"""API tokens: create (the secret is returned once), revoke, and find the user of a secret.

Finding the user of a secret is on every API call, so a found token is remembered in
the shared cache (Redis) for CACHE_SECONDS, keyed by the secret's hash. Revoking
replaces that entry with a "revoked" mark at once, so every web process refuses the
token from its next call; a lookup only ever *adds* an entry, so one that read the
token just before the revoke cannot put it back. Without a shared cache (no Redis: a
per-process cache could not hear another process revoke) nothing is remembered.
Deactivating or deleting a user, or deleting a token, forgets the remembered lookups at
once too (accounts/signals.py), so such a token is refused from the next call.
Those cache writes are lost while Redis is away, so each remembered lookup also carries the
credential generation it was read under (recommender/credentials.py), which every revoke bumps
in the database: an older entry is ignored, and a revoke holds within a second regardless.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import ApiToken
from recommender import cache_keys
from recommender.credentials import credential_generation, credential_generation_bump

# Recognisable in logs and secret scanners, like GitHub's "ghp_".
TOKEN_PREFIX = "mvr_"  # noqa: S105 - a public marker, not a secret
PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
# last_used_at is written at most this often per token: a write on every request
# would double the cost of a busy program's calls for a date shown to the minute.
LAST_USED_EVERY = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 20
# A found token is remembered this long; also the longest a deactivated user's token still works.
CACHE_SECONDS = 60
# The "revoked" mark outlives any entry a slow lookup could still try to add.
REVOKED_SECONDS = 3600
_REVOKED = "revoked"


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_create(*, user: User, name: str) -> NewToken:
    """A new token for the user; the secret is in the result and nowhere else."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. 'phone app'."}, code="required")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError({"name": "The name is too long (at most 100 characters)."}, code="max_length")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError({"name": f"You have {MAX_ACTIVE_TOKENS} tokens: revoke one first."}, code="too_many")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:PREFIX_SHOWN], token_hash=token_hash(secret))
    return NewToken(token=token, secret=secret)


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the user's tokens. False when the user has no such live token."""
    return api_tokens_revoke(tokens=ApiToken.objects.filter(pk=token_id, user=user)) > 0


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke the live tokens among `tokens` (admin's action, the account page); returns how many.

    1. Mark them revoked in the database.
    2. Bump the credential generation: remembered lookups from before are ignored from now on.
    3. Replace their remembered lookups with the "revoked" mark, so no process accepts them again.
    """
    live = dict(tokens.filter(revoked_at__isnull=True).values_list("pk", "token_hash"))
    if not live:
        return 0
    revoked = ApiToken.objects.filter(pk__in=live, revoked_at__isnull=True).update(revoked_at=timezone.now())
    credential_generation_bump()
    api_tokens_forget(token_hashes=list(live.values()), revoked=True)
    return revoked


def api_tokens_forget(*, token_hashes: list[str], revoked: bool) -> None:
    """Drop the remembered lookups of these tokens; `revoked` leaves the "revoked" mark instead
    (for tokens that can never be valid again, e.g. deleted ones)."""
    shared = _shared_cache()
    if shared is None or not token_hashes:
        return
    keys = [cache_keys.api_token(h) for h in token_hashes]
    if revoked:
        shared.set_many(dict.fromkeys(keys, _REVOKED), REVOKED_SECONDS)
    else:
        shared.delete_many(keys)


def api_token_user(*, secret: str) -> User | None:
    """The active user a live token belongs to, or None (unknown, revoked, or user inactive)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = token_hash(secret)
    shared = _shared_cache()
    # Read before the database: an entry is then never tagged newer than what it saw.
    generation = credential_generation()
    remembered = shared.get(cache_keys.api_token(digest)) if shared is not None else None
    if remembered == _REVOKED:
        return None
    if remembered is not None and remembered[0] >= generation:
        return _user_from(remembered[1])
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        # Unknown secrets are not remembered: anyone could fill the cache with them.
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if shared is not None:
        entry = (generation, _user_fields(token.user))
        if remembered is None:
            # add, never set: a revoke's mark written since our query must win.
            shared.add(cache_keys.api_token(digest), entry, CACHE_SECONDS)
        else:
            # Replaces an entry of an older generation; were a revoke to land since our query,
            # it bumped the generation past ours, so this entry would be ignored too.
            shared.set(cache_keys.api_token(digest), entry, CACHE_SECONDS)
    return token.user


def _shared_cache() -> BaseCache | None:
    shared = caches["default"]
    return None if isinstance(shared, LocMemCache | DummyCache) else shared


# What a remembered lookup keeps of the user: enough for the API, and never the password hash.
def _user_fields(user: User) -> tuple:
    return tuple(getattr(user, name) for name in _remembered_fields())


def _user_from(values: tuple) -> User:
    # A user loaded with its other fields deferred: reading one queries it, and a save()
    # writes only these fields, so nothing is blanked by the missing ones.
    return get_user_model().from_db("default", _remembered_fields(), list(values))


def _remembered_fields() -> list[str]:
    user_model = get_user_model()
    return [user_model._meta.pk.attname, user_model.USERNAME_FIELD, "is_active"]


def api_token_list_for_user(*, user: User) -> list[ApiToken]:
    return list(
        ApiToken.objects.filter(user=user).order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-id")
    )
