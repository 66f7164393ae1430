"""A Redis lock that lets only one retrain run at a time.

The owner is the Celery task id, so a task that Celery delivers again after
its worker died (same id) takes its own lock back instead of waiting for it.
The lock lives for `ttl` seconds and the holder renews it while it works: if
the process is killed, the lock frees itself within `ttl`.
Without Redis (embedded mode) tasks run in process one at a time, and the
database's one-running-version rule is enough, so the lock is a no-op there.
"""

from __future__ import annotations

import threading

import redis

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RetrainLock:
    def __init__(self, client: redis.Redis | None, owner: str, *, key: str, ttl: int = 60) -> None:
        self.client = client
        self.owner = owner
        self.key = key
        self.ttl = ttl
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def holder(self) -> str | None:
        if self.client is None:
            return None
        raw = self.client.get(self.key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def acquire(self) -> bool:
        """Take the lock, or take it back if this owner already holds it; start renewing it."""
        if self.client is None:
            return True
        if not self.client.set(self.key, self.owner, nx=True, ex=self.ttl) and self.holder() != self.owner:
            return False
        self.client.expire(self.key, self.ttl)
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="retrain-lock", daemon=True)
        self._renewer.start()
        return True

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=1)
        if self.client is not None:
            self.client.eval(_RELEASE, 1, self.key, self.owner)

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self.client.eval(_RENEW, 1, self.key, self.owner, self.ttl):  # type: ignore[union-attr]
                    return  # lost it (expired while the process was frozen): stop renewing
            except redis.RedisError:
                continue  # a blip: the lock still has time left, try again next round
