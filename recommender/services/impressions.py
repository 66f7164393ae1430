"""Impressions: which picks were shown to whom, queued in Redis off the request's path and flushed in batches.

A page adds one line per list shown to this process's outbox, and a thread sends the outbox to a
Redis list in one RPUSH at most SEND_SECONDS later: a page never waits on Redis for its impressions
(one round trip a page was a third of a cached home page's). A scheduled task (impressions_flush)
moves the queue into the Impression table in batches, and another (impressions_prune) deletes rows
older than the retention, in batches. Redis calls go through the project's breaker
(config.redis_breaker) with a short timeout: with Redis away the lines are dropped, never a page's
answer; a process that dies unexpectedly loses what its outbox held (at most SEND_SECONDS).
Without a Redis configured (the embedded site), lines wait in this process until impressions_flush
runs in it (admin's "refresh online figures", the simulation bench).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from config import redis_breaker
from config.redis_breaker import BreakerConnection
from recommender import cache_keys
from recommender.models import Impression

log = logging.getLogger(__name__)

Source = Impression.Source
# Sources whose lists are a person's picks (measured per version, discounted); similar movies are the
# active version's for everybody and are recorded but neither measured per arm nor discounted.
PICK_SOURCES = (Source.HOME, Source.API)
# The most one send may cost the sender thread before the breaker trips.
QUEUE_TIMEOUT = 0.1
_LOCAL_MAX = 100_000  # lines kept in process without Redis, and at most in the outbox
_local: deque[str] = deque(maxlen=_LOCAL_MAX)
_client: tuple[str, redis.Redis | None] | None = None
_client_lock = threading.Lock()
# The outbox: lines waiting for the sender thread, which one page's line starts when none is waiting.
SEND_SECONDS = 1.0
_outbox: deque[str] = deque(maxlen=_LOCAL_MAX)
_outbox_lock = threading.Lock()
_sender: threading.Timer | None = None


def _queue() -> redis.Redis | None:
    global _client
    url = settings.RECOMMENDER_IMPRESSIONS_URL
    if _client is None or _client[0] != url:
        with _client_lock:
            client = (
                redis.Redis.from_url(
                    url,
                    socket_timeout=QUEUE_TIMEOUT,
                    socket_connect_timeout=QUEUE_TIMEOUT,
                    connection_class=BreakerConnection,
                )
                if url
                else None
            )
            _client = (url, client)
    return _client[1]


def _key() -> str:
    return cache_keys.ListsKeys(settings.RECOMMENDER_LISTS_PREFIX).impressions_queue()


def encode(
    *,
    user_id: int,
    source: str,
    movie_ids: Sequence[int],
    version_id: int,
    experiment_id: int = 0,
    arm: str = "",
    at: float | None = None,
) -> str:
    """One list shown, as a queue line: time|user|version|experiment|arm|source|ids in shown order."""
    when = time.time() if at is None else at
    ids = ",".join(str(int(m)) for m in movie_ids)
    return f"{when:.3f}|{user_id}|{version_id}|{experiment_id}|{arm}|{source}|{ids}"


def decode(line: str) -> list[Impression]:
    """The rows of one queue line (ValueError for a malformed one)."""
    when, user, version, experiment, arm, source, ids = line.split("|")
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}")
    shown_at = datetime.fromtimestamp(float(when), tz=UTC)
    return [
        Impression(
            user_id=int(user),
            movie_id=int(movie),
            version_id=int(version),
            experiment_id=int(experiment),
            arm=arm,
            source=source,
            position=position,
            shown_at=shown_at,
        )
        for position, movie in enumerate(ids.split(",") if ids else ())
    ]


def impressions_record(
    *,
    user_id: int | None,
    source: str,
    movie_ids: Sequence[int],
    version_id: int,
    experiment_id: int = 0,
    arm: str = "",
) -> bool:
    """Queue the list shown to a signed-in person; anonymous visitors and empty lists are not recorded.

    Never raises: an impression lost is better than a page failed. Returns whether it was queued.
    """
    if user_id is None or not movie_ids or not settings.RECOMMENDER_IMPRESSIONS_ENABLED:
        return False
    try:
        line = encode(
            user_id=user_id,
            source=source,
            movie_ids=movie_ids,
            version_id=version_id,
            experiment_id=experiment_id,
            arm=arm,
        )
        client = _queue()
        if client is None:
            _local.append(line)
            return True
        if redis_breaker.is_open(_server(client)):  # Redis known away: the line would be dropped
            return False
        _post(line)
        return True
    except Exception as exc:  # any failure costs the impression, never the page
        log.debug("impression dropped: %s", exc)
        return False


def _server(client: redis.Redis) -> tuple[str, int]:
    kwargs = client.connection_pool.connection_kwargs
    return (kwargs.get("host", "localhost"), int(kwargs.get("port", 6379)))


def _post(line: str) -> None:
    global _sender
    with _outbox_lock:
        _outbox.append(line)
        if _sender is None:
            _sender = threading.Timer(SEND_SECONDS, impressions_send)
            _sender.daemon = True
            _sender.start()


def impressions_send() -> int:
    """Send this process's outbox to the Redis queue in one RPUSH; returns the lines sent (0 when
    Redis is away: they are dropped). The sender thread calls it; so do queued() and the flush."""
    global _sender
    with _outbox_lock:
        lines = list(_outbox)
        _outbox.clear()
        _sender = None
    client = _queue()
    if not lines or client is None:
        return 0
    try:
        length = client.rpush(_key(), *lines)
        if int(length) > settings.RECOMMENDER_IMPRESSIONS_QUEUE_MAX:  # type: ignore[arg-type]
            client.ltrim(_key(), -settings.RECOMMENDER_IMPRESSIONS_QUEUE_MAX, -1)
    except Exception as exc:  # the outbox is lost, as a page's line was when sent at once
        log.debug("%d impressions dropped: %s", len(lines), exc)
        return 0
    return len(lines)


def _forget_outbox_in_child() -> None:
    # A forked process has no sender thread, and the lines are its parent's to send.
    global _sender
    _outbox.clear()
    _sender = None


os.register_at_fork(after_in_child=_forget_outbox_in_child)
atexit.register(impressions_send)  # a worker stopping (a restart, a deploy) sends what it holds


def queued() -> int:
    """Lines waiting to be flushed (the queue's length, after this process's outbox is sent; 0 when
    Redis is away)."""
    client = _queue()
    if client is None:
        return len(_local)
    impressions_send()
    try:
        return int(client.llen(_key()))  # type: ignore[arg-type]
    except redis.RedisError:
        return 0


def _store(lines: Iterable[bytes | str]) -> int:
    rows: list[Impression] = []
    for raw in lines:
        line = raw.decode() if isinstance(raw, bytes) else raw
        try:
            rows.extend(decode(line))
        except (ValueError, TypeError) as exc:
            log.warning("skipping a malformed impression line %r: %s", line[:200], exc)
    with transaction.atomic():
        Impression.objects.bulk_create(rows, batch_size=5_000)
    return len(rows)


def impressions_flush(*, batch: int = 5_000, max_batches: int = 200) -> int:
    """Move queued impressions into the database, `batch` lines a step; returns the rows written.

    A batch leaves the queue only after its rows are committed (LRANGE, insert, LTRIM), so a
    failed insert loses nothing; a lock in Redis keeps a second flusher from writing it twice.
    """
    client = _queue()
    if client is None:
        return _store([_local.popleft() for _ in range(len(_local))])
    impressions_send()
    # A plain client: the flusher may wait a little longer than a page for Redis.
    client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(settings.RECOMMENDER_IMPRESSIONS_URL))
    lock_key, token = cache_keys.ListsKeys(settings.RECOMMENDER_LISTS_PREFIX).impressions_flush_lock(), uuid.uuid4().hex
    if not client.set(lock_key, token, nx=True, ex=300):
        return 0
    written = 0
    try:
        for _ in range(max_batches):
            queued_lines: list[bytes] = client.lrange(_key(), 0, batch - 1)  # type: ignore[assignment]
            if not queued_lines:
                break
            written += _store(queued_lines)
            client.ltrim(_key(), len(queued_lines), -1)
    finally:
        if client.get(lock_key) == token.encode():
            client.delete(lock_key)
        client.close()
    return written


def impressions_prune(*, now: datetime | None = None, batch: int = 50_000) -> int:
    """Delete impressions older than the retention, `batch` rows per statement; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RECOMMENDER_IMPRESSIONS_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(Impression.objects.filter(shown_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += Impression.objects.filter(pk__in=ids).delete()[0]


def times_shown(*, user_id: int, now: datetime | None = None) -> dict[int, int]:
    """movie id -> on how many days it was among the person's picks in the last RECOMMENDER_DISCOUNT_DAYS."""
    since = (now or timezone.now()) - timedelta(days=settings.RECOMMENDER_DISCOUNT_DAYS)
    rows = (
        Impression.objects.filter(user_id=user_id, shown_at__gte=since, source__in=PICK_SOURCES)
        .annotate(day=TruncDate("shown_at"))
        .values("movie_id")
        .annotate(days=Count("day", distinct=True))
        .values_list("movie_id", "days")
    )
    return {int(m): int(n) for m, n in rows}


# --- What a page shows, carried through its cached parts ----------------------------------------

_MARK = "<!-- shown:"


def shown_mark(movie_ids: Iterable[int]) -> str:
    """A comment naming the picks a cached section shows, so each view of it records them."""
    return f"{_MARK}{','.join(str(int(m)) for m in movie_ids)} -->"


def shown_in(html: str | bytes) -> list[int]:
    """The movie ids of the last shown_mark in html, text or UTF-8 (none when it has none)."""
    if isinstance(html, bytes):
        start = html.rfind(_MARK.encode())
        html = html[start:].decode() if start >= 0 else ""
    start = html.rfind(_MARK)
    if start < 0:
        return []
    end = html.find(" -->", start)
    ids = html[start + len(_MARK) : end]
    return [int(m) for m in ids.split(",") if m]


def local_clear() -> None:
    """Forget lines waiting in this process (tests)."""
    _local.clear()
    with _outbox_lock:
        _outbox.clear()
