"""Saving movies for later: the watchlist page (its button is in movies.views.marks).

A saved movie stays out of the person's picks while it is on the list (recommender.services.picks).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from movies import selectors


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
