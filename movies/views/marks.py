"""The buttons that put one of a person's marks on a movie or take it off: "not interested" and the watchlist.

Both marks keep the movie out of the person's picks, so each change recomputes them at once. An htmx
request gets the toggle's partial to swap in; a plain form post gets a message and a redirect back.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from movies import services
from movies.views.helpers import is_htmx, login_required_htmx, movie_or_404, next_or, redirect_back
from recommender.services import user_picks_refresh_logged


@dataclass(frozen=True)
class Mark:
    """One mark's button: the services that put it on and take it off (user=, movie_id=), the toggle's
    partial and the flag it reads, and the messages for each way (formatted with the movie)."""

    change: tuple[Callable[..., object], Callable[..., object]]
    template: str
    flag: str
    messages: tuple[str, str]


NOT_INTERESTED = Mark(
    change=(services.movie_dismiss, services.movie_undismiss),
    template="movies/_dismiss_toggle.html",
    flag="is_dismissed",
    messages=("{movie} will not be suggested to you again.", "{movie} may be suggested to you again."),
)
WATCHLIST = Mark(
    change=(services.watchlist_add, services.watchlist_remove),
    template="movies/_watchlist_toggle.html",
    flag="is_saved",
    messages=("{movie} is on your watchlist.", "{movie} is off your watchlist."),
)


@login_required_htmx
@require_POST
def mark_set(request: HttpRequest, movie_id: int, *, mark: Mark, on: bool) -> HttpResponse:
    """Put the mark on the movie (on=True, from the URL) or take it off, refresh the picks, and answer."""
    movie = movie_or_404(movie_id)
    put, take_off = mark.change
    (put if on else take_off)(user=request.user, movie_id=movie.pk)
    user_picks_refresh_logged(user_id=request.user.pk)
    if not is_htmx(request):
        put_message, take_off_message = mark.messages
        messages.success(request, (put_message if on else take_off_message).format(movie=movie))
        return redirect_back(request, movie.get_absolute_url())
    context = {"movie": movie, mark.flag: on, "next": next_or(request, movie.get_absolute_url())}
    return render(request, mark.template, context)
