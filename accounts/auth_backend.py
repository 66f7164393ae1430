"""The logged-in user of a request read from the shared cache instead of the database.

Every logged-in page load asks the authentication backend for the session's user: one query,
a large share of a page that is otherwise served from the cache. This backend keeps
that user's fields in the cache (Redis in production) for USER_SECONDS, without the password
hash: in its place it keeps the session hash derived from it, the same HMAC every session of
that user already stores, so checking a session needs no query either. Saving or deleting the
user drops the entry at once (a password change, deactivation, a staff flag, even last_login),
so every process sees the change within KEPT_SECONDS (each keeps what it read that long); an
update that bypasses save() (a queryset .update()) is seen within USER_SECONDS. With the cache
away it reads the database.
That drop is a cache write, lost while Redis is away; so a save that can end sessions (anything
but a login's last_login) also bumps the credential generation in the database
(recommender/credentials.py), and an entry read under an older generation is ignored: a
password change or a deactivation holds everywhere within a second, with or without Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from accounts.kept import kept_get, kept_put
from recommender import cache_keys
from recommender.credentials import credential_generation, credential_generation_bump

USER_SECONDS = 60
# Each process also keeps the entries it read for a few seconds: one Redis round trip less per page.
# The generation check still applies to them, so a revoke holds as fast; other changes of the user
# (a new username) reach the other processes within KEPT_SECONDS.
KEPT_SECONDS = 5.0
_kept: dict[str, tuple[float, tuple]] = {}


def _fields() -> list[str]:
    # Every column but the password; reading user.password then costs one query (never on a page).
    return [f.attname for f in get_user_model()._meta.concrete_fields if f.attname != "password"]


class CachedModelBackend(ModelBackend):
    """ModelBackend whose get_user (each request of a session) is served from the cache."""

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        key = cache_keys.auth_user(user_id)
        # Read before the database: an entry is then never tagged newer than what it saw.
        generation = credential_generation()
        kept = kept_get(_kept, key, KEPT_SECONDS)
        found = kept if kept is not None else cache.get(key)
        if found is not None and found[0] >= generation:
            if kept is None:
                kept_put(_kept, key, found)
            _, values, session_hash = found
            user = get_user_model().from_db("default", _fields(), list(values))
        else:
            user = super().get_user(user_id)
            if user is None:
                return None
            session_hash = user.get_session_auth_hash()
            entry = (generation, [getattr(user, name) for name in _fields()], session_hash)
            # add when there is none, so a concurrent drop wins; replace one of an older generation.
            (cache.add if found is None else cache.set)(key, entry, USER_SECONDS)
        user.get_session_auth_hash = _session_hash_of(user, session_hash)
        return user if self.user_can_authenticate(user) else None


def _session_hash_of(user: AbstractBaseUser, cached: str) -> Callable[[], str]:
    # django.contrib.auth.get_user compares this with the session's copy: answered without the
    # deferred password. Once the password is loaded or set (a password change in this request,
    # whose new hash update_session_auth_hash stores), the real method answers.
    def session_hash() -> str:
        if "password" in user.__dict__:
            return type(user).get_session_auth_hash(user)
        return cached

    return session_hash


def _forget(sender: type, instance: AbstractBaseUser, **kwargs: Any) -> None:
    # A login saves last_login alone: that ends no session, and bumping on it would make every
    # remembered user of the site stale at each login.
    if not kwargs.get("created") and kwargs.get("update_fields") != frozenset({"last_login"}):
        credential_generation_bump()
    cache.delete(cache_keys.auth_user(instance.pk))
    _kept.pop(cache_keys.auth_user(instance.pk), None)


post_save.connect(_forget, sender=get_user_model(), dispatch_uid="accounts.auth_backend.saved")
post_delete.connect(_forget, sender=get_user_model(), dispatch_uid="accounts.auth_backend.deleted")
