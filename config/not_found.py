"""A view's Http404 answered with the site's own 404 page, DEBUG or not.

With DEBUG on, Django answers every 404 with its debug page; a missing movie (the
link a person follows to a movie that is not in this catalogue) should look the same
on a developer's machine as in production, so a view's Http404 is rendered with
templates/404.html here. A URL that matches no route still gets the debug page under
DEBUG, which lists the routes it tried.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.views.defaults import page_not_found


class NotFoundPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
