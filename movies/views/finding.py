"""Finding a movie: type-ahead suggestions under the search box (the full results are the browse page)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from movies import selectors

SUGGESTIONS = 8
QUERY_MAX = 200


@require_GET
def movie_suggest(request: HttpRequest) -> HttpResponse:
    """The best title matches for what is typed so far, as a list of links (htmx swaps it in)."""
    query = request.GET.get("q", "")[:QUERY_MAX].replace("\x00", "").strip()
    if len(query) < 2:  # one letter matches half the catalogue: suggest nothing yet
        return render(request, "movies/_suggestions.html", {"movies": [], "query": ""})
    movies = list(selectors.movie_search(query=query, sort="relevance")[:SUGGESTIONS])
    return render(request, "movies/_suggestions.html", {"movies": movies, "query": query})
