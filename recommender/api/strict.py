"""Requests the API refuses before an operation runs, each with a JSON 4xx naming the problem.

django-ninja on its own ignores query parameters it does not know (a typo such as
`page_sise=3` would silently give page size 24), takes a body whatever its content
type, answers a non-object JSON body as "value: field required", and answers a wrong
method or path with Django's plain text or HTML. Here:

- an unknown query parameter is a 400 naming it and the ones the operation takes;
- an operation with a body checks who calls first (401/403 before the body is read), then
  takes a body of at most 64 KiB (else a JSON 413), `Content-Type: application/json` only
  (else 415), nested at most 16 levels (else 400, see body_limits.py), valid JSON (else 400,
  with where it breaks) and a JSON object (else 422);
- a method an endpoint does not take is a JSON 405 with its Allow header;
- a path under /api/ that is no endpoint is a JSON 404 (see `not_found`).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.operation import Operation, PathView

from recommender.api.body_limits import body_size_problem, nesting_problem

JSON = "application/json; charset=utf-8"  # as ninja's own answers


def refuse_bad_requests(api: NinjaAPI) -> None:
    """Install the checks on every operation of `api` (call once, after its routers are added)."""
    # The routers as mounted on the API (ninja 1.7 binds copies of the added ones).
    for router in api._get_bound_routers():
        for view in router.path_operations.values():
            view._not_allowed = _not_allowed_for(view)  # type: ignore[method-assign]
            for operation in view.operations:
                _check_inputs(api, operation)


def _sources(operation: Operation, source: str) -> list[Any]:
    return [m for m in operation.models if getattr(m, "__ninja_param_source__", None) == source]


def _check_inputs(api: NinjaAPI, operation: Operation) -> None:
    allowed = {f.alias or name for model in _sources(operation, "query") for name, f in model.model_fields.items()}
    takes_body = bool(_sources(operation, "body"))
    run_checks = operation._run_checks

    def checked(request: HttpRequest) -> HttpResponse | None:
        problem = _unknown_params(request, allowed)
        if problem is None:
            # Authentication first: a caller it refuses never has the body read or parsed.
            refused = run_checks(request)
            if refused is not None:
                return refused
            problem = _body_problem(request) if takes_body else None
        if problem is not None:
            status, detail = problem
            return api.create_response(request, {"detail": detail}, status=status)
        return None

    operation._run_checks = checked  # type: ignore[method-assign]


def _unknown_params(request: HttpRequest, allowed: set[str]) -> tuple[int, str] | None:
    unknown = sorted(set(request.GET) - allowed)
    if not unknown:
        return None
    takes = ", ".join(sorted(allowed)) or "none"
    return 400, f"Unknown query parameter(s): {', '.join(unknown)}. This operation takes: {takes}."


def _body_problem(request: HttpRequest) -> tuple[int, str] | None:
    too_large = body_size_problem(request)
    if too_large is not None:
        return too_large
    if not request.body:
        return None  # the schema's own check names what is missing
    if request.content_type != "application/json":
        return 415, f"Send the body as JSON with Content-Type: application/json (got {request.content_type or 'none'})."
    too_deep = nesting_problem(request.body)
    if too_deep is not None:
        return too_deep
    try:
        data = json.loads(request.body)
    except UnicodeDecodeError:
        return 400, "The body is not valid JSON: it is not UTF-8 text."
    except json.JSONDecodeError as error:
        return 400, f"The body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}."
    if not isinstance(data, dict):
        return 422, f"The body must be a JSON object, not a JSON {type(data).__name__}."
    return None


def _not_allowed_for(view: PathView) -> Any:
    def not_allowed() -> HttpResponse:
        allowed = sorted({m for op in view.operations for m in op.methods})
        detail = f"Method not allowed here; use {', '.join(allowed)}."
        response = JsonResponse({"detail": detail}, status=405, content_type=JSON)
        response["Allow"] = ", ".join(allowed)
        return response

    return not_allowed


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """The last URL pattern under /api/: any path that is no endpoint."""
    return JsonResponse({"detail": f"No API endpoint at {request.path}; see /api/docs."}, status=404, content_type=JSON)
