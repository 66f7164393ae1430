"""A circuit breaker for the Django cache's Redis connections.

The cache (and so every session read) gives up on Redis after its socket timeout,
but a frozen Redis would still cost every request that timeout, and requests queued
behind a few web processes would then wait many timeouts each.
After one timeout or connection error, this connection class fails every command
to that server at once for a few seconds; django-redis ignores the error
(IGNORE_EXCEPTIONS) and sessions fall back to the database. The next command
after the pause tries Redis again, so each process pays one timeout per pause.

Used through the cache's OPTIONS: CONNECTION_POOL_KWARGS = {"connection_class": BreakerConnection}.
The state is per process and per server (host, port), shared by all its databases.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis

log = logging.getLogger(__name__)

DOWN_SECONDS = 5.0

_down_until: dict[tuple[str, int], float] = {}
_lock = threading.Lock()


def is_open(server: tuple[str, int]) -> bool:
    """True while commands to `server` are skipped."""
    return time.monotonic() < _down_until.get(server, 0.0)


def trip(server: tuple[str, int], error: Exception, seconds: float = DOWN_SECONDS) -> None:
    with _lock:
        was_open = is_open(server)
        _down_until[server] = time.monotonic() + seconds
    if not was_open:
        log.warning("Redis at %s:%s failed (%s): skipping it for %.0f s", *server, error, seconds)


def reset() -> None:
    """Forget every failure (tests)."""
    with _lock:
        _down_until.clear()


class BreakerConnection(redis.Connection):
    """A redis-py connection that stays away from its server for a few seconds after a failure."""

    @property
    def server(self) -> tuple[str, int]:
        return (self.host, int(self.port))

    def _skip_if_open(self) -> None:
        if is_open(self.server):
            raise redis.ConnectionError(f"Redis at {self.host}:{self.port} skipped after a recent failure")

    @contextlib.contextmanager
    def _watch(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            trip(self.server, exc)
            raise

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        if self._sock is None:
            self._skip_if_open()
        with self._watch():
            super().connect_check_health(*args, **kwargs)

    def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
        self._skip_if_open()
        with self._watch():
            super().send_packed_command(*args, **kwargs)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with self._watch():
            return super().read_response(*args, **kwargs)
