"""What every page of the catalogue shares: htmx answers, the login check, going back, paging."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from movies import selectors
from movies.models import Movie


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def login_required_htmx(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """login_required, except that an htmx request (a session that expired while the page
    was open) gets the browser sent to the login page instead of a login form swapped
    into the widget."""
    redirecting = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_htmx(request) and not request.user.is_authenticated:
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = "/"
            if current.netloc == request.get_host() and current.path:  # only ever back to this site
                back = current.path + (f"?{current.query}" if current.query else "")
            response = HttpResponse(status=401)
            response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
            return response
        return redirecting(request, *args, **kwargs)

    return wrapper


def next_or(request: HttpRequest, default: str) -> str:
    """The page a form was posted from (its "next" field) if it is one of ours, else default."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    return target


def redirect_back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Back to the page the plain form was posted from."""
    return HttpResponseRedirect(next_or(request, default))


def movie_or_404(movie_id: int) -> Movie:
    """Every movie page and action fails the same way for an unknown movie."""
    try:
        return selectors.movie_get(movie_id=movie_id, with_genres=False)
    except Movie.DoesNotExist:
        raise Http404("No such movie") from None


def page_of(request: HttpRequest, items: QuerySet, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
