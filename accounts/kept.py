"""Entries a process keeps for itself a few seconds in front of the shared cache (the session, its user).

A page reads both on every request; kept here they cost no Redis round trip while fresh. Each
caller owns its dict and says how long its entries hold; the dict is emptied when full, not evicted
one by one: at most KEPT_MAX entries, each read again from Redis at worst.
"""

from __future__ import annotations

import time
from typing import TypeVar

V = TypeVar("V")
KEPT_MAX = 10_000


def kept_get(kept: dict[str, tuple[float, V]], key: str, seconds: float) -> V | None:
    """The value kept under key if it is younger than `seconds`, else None."""
    entry = kept.get(key)
    return entry[1] if entry is not None and time.monotonic() - entry[0] < seconds else None


def kept_put(kept: dict[str, tuple[float, V]], key: str, value: V) -> None:
    if len(kept) >= KEPT_MAX:
        kept.clear()
    kept[key] = (time.monotonic(), value)
