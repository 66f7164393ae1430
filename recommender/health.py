"""GET /healthz for load balancers and monitors: {"database", "redis", "model_version"}.

200 when the database answers, Redis answers (when one is configured) and a model
version is active; 503 otherwise, with "failed" naming what is wrong. Cheap: one
SELECT, one PING with a short timeout, no TensorFlow and no factors loaded.

Answered by a middleware placed before SecurityMiddleware, so a load balancer that
probes by IP address (not in ALLOWED_HOSTS) over plain http inside the network gets the
answer, not a 400 or a redirect to https; and no login is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

PATHS = {"/healthz", "/healthz/"}
REDIS_TIMEOUT = 0.5

_clients: dict[str, redis.Redis] = {}


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer: the balancer takes this process out
        return f"unreachable: {type(exc).__name__}: {exc}".strip()
    return "ok"


def _redis() -> str:
    url = settings.REDIS_URL
    if not url:
        return "not configured"
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"
    return "ok"


def _model_version(database_ok: bool) -> int | None:
    if not database_ok:
        return None
    from recommender.models import ModelVersion

    try:
        return ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    except Exception:  # e.g. not migrated yet: reported as no active version
        return None


def health() -> tuple[bool, dict[str, Any]]:
    database = _database()
    report: dict[str, Any] = {
        "database": database,
        "redis": _redis(),
        "model_version": _model_version(database == "ok"),
    }
    failed = [name for name in ("database", "redis") if report[name] not in ("ok", "not configured")]
    if report["model_version"] is None:
        failed.append("model_version")
    if failed:
        report["failed"] = failed
    return not failed, report


def health_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path not in PATHS or request.method not in ("GET", "HEAD"):
            return get_response(request)
        ok, report = health()
        response = JsonResponse(report, status=200 if ok else 503)
        response["Cache-Control"] = "no-store"
        return response

    return middleware
