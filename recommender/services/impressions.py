"""Impressions: which picks were shown to whom, queued in Redis off the request's path and flushed in batches.

A page appends one line per list shown (one RPUSH, no database write) to a Redis list; a
scheduled task (impressions_flush) moves the queue into the Impression table in batches, and
another (impressions_prune) deletes rows older than the retention, in batches. Redis calls go
through the project's breaker (config.redis_breaker) with a short timeout: with Redis away a page
loses its impressions, never its answer or more than one timeout per breaker pause.
Without a Redis configured (the embedded site), lines wait in this process until impressions_flush
runs in it (admin's "refresh online figures", the simulation bench).
"""

from __future__ import annotations

import logging
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

from config.redis_breaker import BreakerConnection
from recommender import cache_keys
from recommender.models import Impression

log = logging.getLogger(__name__)

Source = Impression.Source
# Sources whose lists are a person's picks (measured per version, discounted); similar movies are the
# active version's for everybody and are recorded but neither measured per arm nor discounted.
PICK_SOURCES = (Source.HOME, Source.API)
# A page must never wait on Redis for long: this is the most one write may cost before the breaker trips.
QUEUE_TIMEOUT = 0.1
_LOCAL_MAX = 100_000  # lines kept in process without Redis
_local: deque[str] = deque(maxlen=_LOCAL_MAX)
_client: tuple[str, redis.Redis | None] | None = None
_client_lock = threading.Lock()


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
        length = client.rpush(_key(), line)
        if int(length) > settings.RECOMMENDER_IMPRESSIONS_QUEUE_MAX:  # type: ignore[arg-type]
            client.ltrim(_key(), -settings.RECOMMENDER_IMPRESSIONS_QUEUE_MAX, -1)
        return True
    except Exception as exc:  # any failure costs the impression, never the page
        log.debug("impression dropped: %s", exc)
        return False


def queued() -> int:
    """Lines waiting to be flushed (the queue's length; 0 when Redis is away)."""
    client = _queue()
    if client is None:
        return len(_local)
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
