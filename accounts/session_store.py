"""Sessions in Redis and the database (Django's cached_db), each also kept a few seconds in the process.

Reading the session was one of the three Redis round trips of a cached page, and the only one that
is the same on every page of a visit. A session's contents here never change in place: a login and
a password change give it a new key, a logout deletes it, and nothing else writes to it (messages
travel in a cookie first). So each process keeps what it read or wrote for KEPT_SECONDS, and a
write or delete through this process replaces or drops its copy at once. What another process
deletes (a logout) is honoured here within KEPT_SECONDS; the person logging out has dropped the
cookie already, so only a copy of it replayed within those seconds could still be let in.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from accounts.kept import kept_get, kept_put

KEPT_SECONDS = 5.0
_kept: dict[str, tuple[float, dict[str, Any]]] = {}


def kept_clear() -> None:
    """Forget every kept session (tests)."""
    _kept.clear()


class SessionStore(CachedDBStore):
    def load(self) -> dict[str, Any]:
        key = self.session_key
        kept = kept_get(_kept, key, KEPT_SECONDS) if key else None
        if kept is not None:
            return dict(kept)  # a copy: the request may change its session, then save it
        data = super().load()
        if key and data and self.session_key == key:  # found (a missing one leaves no key)
            kept_put(_kept, key, dict(data))
        return data

    def save(self, must_create: bool = False) -> None:
        super().save(must_create)
        if self.session_key:
            kept_put(_kept, self.session_key, dict(self.items()))

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        super().delete(session_key)
        if key:
            _kept.pop(key, None)
