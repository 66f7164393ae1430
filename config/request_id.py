"""Every request gets an id: the caller's X-Request-ID (a load balancer's), or a new one.

The id goes back in the response's X-Request-ID header and into every log line written
while the request is handled (config/log_context.py), including Django's own
"Not Found" or error lines, which it writes after the middleware has returned: the id is
cleared when the next request starts or this one finishes, not when the middleware returns.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished, request_started
from django.http import HttpRequest, HttpResponse

from config.log_context import request_id

HEADER = "X-Request-ID"
# Only ids that cannot break a log line or a header; anything else is replaced.
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        rid = given if _SAFE.match(given) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        request_id.set(rid)
        response = get_response(request)
        response[HEADER] = rid
        return response

    return middleware


def _clear(**_: Any) -> None:
    request_id.set(None)


request_started.connect(_clear, dispatch_uid="config.request_id.started")
request_finished.connect(_clear, dispatch_uid="config.request_id.finished")
