"""Per-user top-N lists in Redis, one hash per model version.

Layout, under a prefix (default "rec"):
    rec:live            the version whose lists are served
    rec:v<version>:top  hash: user id -> movie ids packed as little-endian uint32

A version's lists are written under its own key while the previous version is
still live; one SET of rec:live then switches every reader at once, so nobody
sees a mix of two versions. The old hash is left to expire for roll-back.
Packed ids cost 4 bytes each: 162k users x 100 ids fit in about 80 MB.

Redis is a cache here, never the truth: every call gives up quickly (short
socket timeouts) and, after an error, the store stays away for a few seconds
so a dead or frozen Redis costs one request a timeout, not every request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import numpy as np
import redis

from recommender import cache_keys

log = logging.getLogger(__name__)

_IDS = np.dtype("<u4")


class ListStore:
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "rec",
        retired_ttl: int = 24 * 3600,
        backoff: float = 5.0,
        live_cache_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.retired_ttl = retired_ttl
        self.backoff = backoff
        self.live_cache_seconds = live_cache_seconds
        self._down_until = 0.0
        self._live: tuple[float, int | None] = (0.0, None)
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.25, **options: float | int | str) -> ListStore:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, **options)  # type: ignore[arg-type]

    # --- keys (recommender.cache_keys) -------------------------------------------------
    def live_key(self) -> str:
        return cache_keys.ListsKeys(self.prefix).live()

    def lists_key(self, version: int) -> str:
        return cache_keys.ListsKeys(self.prefix).of_version(version)

    # --- reads ---------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def live_version(self) -> int | None:
        """The version being served, read at most once a second per process."""
        at, version = self._live
        if time.monotonic() - at < self.live_cache_seconds:
            return version
        raw = self._call(self.client.get, self.live_key())
        version = int(raw) if raw is not None else None
        self._live = (time.monotonic(), version)
        return version

    def get(self, user_id: int, *, version: int | None = None) -> tuple[int, np.ndarray] | None:
        """The live version (or `version`) and the user's list in it, or None on a miss or when Redis is away."""
        version = self.live_version() if version is None else version
        if version is None:
            return None
        raw = self._call(self.client.hget, self.lists_key(version), str(user_id))
        if raw is None:
            return None
        return version, np.frombuffer(raw, dtype=_IDS).astype(np.int64)

    # --- writes --------------------------------------------------------------------
    def put(self, version: int, user_id: int, movie_ids: np.ndarray) -> bool:
        """Write one user's list into a version (the instant update after a rating)."""
        return self._call(self.client.hset, self.lists_key(version), str(user_id), _pack(movie_ids)) is not None

    def put_many(self, version: int, user_ids: Iterable[int], lists: np.ndarray, *, batch: int = 1_000) -> None:
        """Write many users' lists (rows of `lists`; negative ids pad short lists) into a version.

        HSETs of `batch` users each go through one pipeline: one round trip for the whole
        chunk, and Redis never blocks on one huge command.
        Raises redis errors: the list refresh must fail loudly, not publish a partial version.
        """
        key = self.lists_key(version)
        ids = [str(user_id) for user_id in user_ids]
        lists = np.asarray(lists)
        padded = bool((lists < 0).any())
        packed = np.ascontiguousarray(np.maximum(lists, 0), dtype=_IDS)
        if padded:
            rows = [packed[i][lists[i] >= 0].tobytes() for i in range(len(ids))]
        else:
            width = packed.shape[1] * packed.itemsize
            flat = packed.tobytes()
            rows = [flat[i * width : (i + 1) * width] for i in range(len(ids))]
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(ids), batch):
            pipe.hset(key, mapping=dict(zip(ids[start : start + batch], rows[start : start + batch], strict=True)))
        pipe.execute()

    def count(self, version: int) -> int:
        return int(self.client.hlen(self.lists_key(version)))

    def publish(self, version: int) -> int | None:
        """Make `version` live in one step; the previous version expires later. Returns it."""
        pipe = self.client.pipeline(transaction=True)
        pipe.getset(self.live_key(), version)
        pipe.persist(self.lists_key(version))
        previous_raw, _ = pipe.execute()
        previous = int(previous_raw) if previous_raw is not None else None
        if previous is not None and previous != version:
            self.client.expire(self.lists_key(previous), self.retired_ttl)
        self._live = (time.monotonic(), version)
        return previous

    def keep(self, version: int) -> None:
        """Keep a version's lists until retired (an experiment's challenger, maybe a retired version)."""
        self._call(self.client.persist, self.lists_key(version))

    def retire(self, version: int) -> None:
        """Let a version's lists expire like a replaced live version's (an experiment's losing challenger)."""
        if version != self.live_version():
            self._call(self.client.expire, self.lists_key(version), self.retired_ttl)

    def drop(self, version: int) -> None:
        """Remove a version's lists at once (UNLINK frees memory without blocking Redis)."""
        self.client.unlink(self.lists_key(version))

    def forget_user(self, user_id: int) -> int | None:
        """Remove one user's list from every version's hash (a deleted account); how many there were,
        or None when Redis is away."""
        keys = self._call(
            lambda: list(self.client.scan_iter(cache_keys.ListsKeys(self.prefix).every_version(), count=1000))
        )
        if keys is None:
            return None
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hdel(key, str(user_id))
        removed = self._call(pipe.execute)
        return None if removed is None else sum(removed)

    def memory_bytes(self, version: int) -> int:
        return int(self.client.memory_usage(self.lists_key(version), samples=0) or 0)

    # --- failure handling ----------------------------------------------------------
    def _call(self, method, *args):  # type: ignore[no-untyped-def]
        if not self.available:
            return None
        try:
            return method(*args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            with self._lock:
                self._down_until = time.monotonic() + self.backoff
            log.warning("Redis unavailable for %.0f s, serving from factors: %s", self.backoff, exc)
            return None


def _pack(movie_ids: np.ndarray) -> bytes:
    return np.ascontiguousarray(movie_ids, dtype=_IDS).tobytes()


_default: tuple[tuple[str, str], ListStore | None] | None = None


def get_store() -> ListStore | None:
    """The process's store, or None when no Redis is configured (lists come from factors)."""
    from django.conf import settings

    global _default
    key = (settings.RECOMMENDER_LISTS_URL, settings.RECOMMENDER_LISTS_PREFIX)
    if _default is None or _default[0] != key:
        _default = (key, ListStore.from_url(key[0], prefix=key[1]) if key[0] else None)
    return _default[1]
