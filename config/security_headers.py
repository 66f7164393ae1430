"""The Content-Security-Policy header: scripts, styles, images and connections from this site only.

The site's pages, the map's canvas, htmx (with its inline indicator style and eval turned off in
base.html's htmx-config), the admin and /api/docs (Swagger UI from our static files) load nothing
from elsewhere and run no inline script, so the policy can say 'self' for all of them. Inline
style *attributes* stay allowed: the templates set CSS variables with them (style="--hue: ...")
and the admin uses them; a style attribute cannot run code.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-elem 'self'",
        "style-src-attr 'unsafe-inline'",
        # data: for the admin's and Swagger UI's small inline icons; TMDb's host for posters (fetch_tmdb).
        "img-src 'self' data: https://image.tmdb.org",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csp_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

    return middleware
