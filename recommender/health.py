"""GET /healthz for load balancers and monitors: {"status", "database", "redis", "model_version", "model"}.

"status" is "ok", "degraded" or "failed". Failed (503, "failed" naming what is wrong) when
the database or Redis (when one is configured) does not answer, or no model version is
active. Degraded when the active version's file cannot be loaded ("model": "unloadable"):
the pages still answer, with popular picks, so a load balancer gets 200 and keeps the
process, while a monitor asking /healthz?strict=1 gets 503. Cheap: one SELECT, one PING
with a short timeout, no TensorFlow; the factors are the ones this process serves (loaded
once, looked at once a second, recommender/services/factors_cache.py).

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


def _model(version: int | None) -> str:
    if version is None:
        return "none"
    from recommender.services.factors_cache import active_model_state

    try:
        return active_model_state()
    except Exception:  # the database went away between the two questions: reported by "database"
        return "unknown"


def health() -> tuple[bool, dict[str, Any]]:
    """(whether a load balancer should keep this process, the report)."""
    database = _database()
    report: dict[str, Any] = {
        "status": "ok",
        "database": database,
        "redis": _redis(),
        "model_version": _model_version(database == "ok"),
    }
    report["model"] = _model(report["model_version"])
    failed = [name for name in ("database", "redis") if report[name] not in ("ok", "not configured")]
    if report["model_version"] is None:
        failed.append("model_version")
    if failed:
        report["status"] = "failed"
        report["failed"] = failed
    elif report["model"] != "ok":
        report["status"] = "degraded"
        report["degraded"] = ["model"]
    return not failed, report


def health_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path not in PATHS or request.method not in ("GET", "HEAD"):
            return get_response(request)
        ok, report = health()
        # strict: for monitoring, which should page someone about a degraded service too.
        strict = request.GET.get("strict", "") not in ("", "0", "false")
        response = JsonResponse(report, status=200 if ok and not (strict and report["status"] != "ok") else 503)
        response["Cache-Control"] = "no-store"
        return response

    return middleware
