"""The credential generation: a number kept in the database, bumped when a login or token stops being valid.

The session user (accounts/auth_backend.py) and API token lookups (accounts/tokens.py)
are remembered in Redis. Forgetting them on a revoke or a password change is a cache write, and
a cache write is dropped while Redis is away: the old entry would then be served again for the
rest of its minute once Redis is back. So each entry also records the generation it was read
under, and a reader ignores an entry older than the current generation. The current value is
read from the database at most every MEMO_SECONDS per process: a change holds everywhere within
that time, with or without Redis, for one small query per process per half second.
"""

from __future__ import annotations

import threading
import time

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import IntegrityError, transaction
from django.db.models import F

from recommender.models import CredentialGeneration

MEMO_SECONDS = 0.5
_ROW = 1

_memo: tuple[float, int] | None = None
_lock = threading.Lock()


def credential_generation() -> int:
    """The current generation, read from the database at most every MEMO_SECONDS; 0 when the cache
    is this process's own (the embedded defaults): no other process can miss a drop there."""
    global _memo
    if isinstance(caches["default"], LocMemCache | DummyCache):
        return 0
    memo = _memo
    now = time.monotonic()
    if memo is not None and now - memo[0] < MEMO_SECONDS:
        return memo[1]
    value = CredentialGeneration.objects.filter(pk=_ROW).values_list("value", flat=True).first() or 0
    with _lock:
        _memo = (now, value)
    return value


def credential_generation_bump() -> None:
    """Make every remembered login and token lookup stale, in every process within MEMO_SECONDS."""
    global _memo
    if not CredentialGeneration.objects.filter(pk=_ROW).update(value=F("value") + 1):
        try:
            with transaction.atomic():
                CredentialGeneration.objects.create(pk=_ROW, value=1)
        except IntegrityError:  # created meanwhile by another process
            CredentialGeneration.objects.filter(pk=_ROW).update(value=F("value") + 1)
    with _lock:
        _memo = None  # this process sees the change at once


def credential_generation_forget() -> None:
    """Drop this process's memo (tests)."""
    global _memo
    with _lock:
        _memo = None
