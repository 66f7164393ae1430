"""Saving movies for later: the watchlist page, and the button that puts a movie on it or takes it off.

A saved movie stays out of the person's picks while it is on the list (recommender.services.picks).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from movies import selectors, services
from movies.views.helpers import login_required_htmx, mark_set


@login_required
@require_GET
def watchlist(request: HttpRequest) -> HttpResponse:
    entries = list(selectors.watchlist_for_user(user=request.user))
    ids = [e.movie_id for e in entries]
    return render(
        request,
        "movies/watchlist.html",
        {"entries": entries, "my_values": selectors.rating_values_for_user(user=request.user, movie_ids=ids)},
    )


@login_required_htmx
@require_POST
def watchlist_add(request: HttpRequest, movie_id: int) -> HttpResponse:
    return _saved_set(request, movie_id, saved=True)


@login_required_htmx
@require_POST
def watchlist_remove(request: HttpRequest, movie_id: int) -> HttpResponse:
    return _saved_set(request, movie_id, saved=False)


def _saved_set(request: HttpRequest, movie_id: int, *, saved: bool) -> HttpResponse:
    """Put the movie on the watchlist (or take it off), refresh the picks, answer."""
    return mark_set(
        request,
        movie_id,
        change=services.watchlist_add if saved else services.watchlist_remove,
        template="movies/_watchlist_toggle.html",
        state={"is_saved": saved},
        message="{movie} is on your watchlist." if saved else "{movie} is off your watchlist.",
    )
