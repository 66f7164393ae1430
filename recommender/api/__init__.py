"""The JSON API: /api/, its OpenAPI schema at /api/openapi.json and docs at /api/docs.

Every error is JSON {"detail": "..."} with a 4xx status; an unexpected exception is
logged and answered with a JSON 500 rather than Django's HTML page.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI, Swagger
from ninja.errors import ValidationError

from recommender.api import clusters, me, movies
from recommender.api.strict import not_found, refuse_bad_requests

logger = logging.getLogger(__name__)


class MoviesAPI(NinjaAPI):
    def _get_urls(self) -> list[URLPattern | URLResolver]:
        # Last: a path under /api/ that is no endpoint gets a JSON 404, not the site's HTML page.
        return [*super()._get_urls(), re_path(r"^(?P<rest>.*)$", not_found)]


api = MoviesAPI(
    title="Movies API",
    version="1",
    description=(
        "The catalogue, similar movies, the active model and its clusters are public. Your picks, ratings and "
        "'not interested' marks need `Authorization: Bearer <token>` (make one on your account page) "
        "or, from the site's own pages, the session cookie plus the X-CSRFToken header."
    ),
    urls_namespace="api",
    # With "ninja" in INSTALLED_APPS the docs page loads Swagger UI from our static files:
    # the site works offline and sends no visitor to a CDN.
    docs=Swagger(settings={"persistAuthorization": True}),
)
api.add_router("", movies.router)
api.add_router("", clusters.router)
api.add_router("", me.router)
refuse_bad_requests(api)


@api.exception_handler(ValidationError)
def _invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"loc": _loc(e), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in exc.errors]
    # e.g. "Invalid input: page_size (Input should be less than or equal to 100)."
    problems = "; ".join(f"{_field(e['loc'])} ({e['msg']})" for e in errors) or "request"
    return api.create_response(request, {"detail": f"Invalid input: {problems}.", "errors": errors}, status=422)


def _field(loc: list[str]) -> str:
    return ".".join(loc[1:]) or (loc[0] if loc else "request")


def _loc(error: dict) -> list:
    """Where the error is, e.g. ["body", "value"] (ninja nests a body schema under "body" twice)."""
    loc = [str(p) for p in error.get("loc", ())]
    return loc[1:] if loc[:2] == ["body", "body"] else loc


@api.exception_handler(DjangoValidationError)
def _invalid_value(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    # Services raise these for values the schema lets through (e.g. a rating the model refuses).
    messages = [m for ms in getattr(exc, "message_dict", {"": exc.messages}).values() for m in ms]
    return api.create_response(request, {"detail": " ".join(messages) or "Invalid value."}, status=422)


@api.exception_handler(ObjectDoesNotExist)
def _not_found(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return api.create_response(request, {"detail": "Internal error: it has been logged."}, status=500)
