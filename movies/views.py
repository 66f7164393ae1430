from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from movies import selectors
from movies.models import Movie


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "movies/home.html", {"movies": selectors.movie_list_most_rated(limit=24)})


def movie_detail(request: HttpRequest, movie_id: int) -> HttpResponse:
    try:
        movie = selectors.movie_get(movie_id=movie_id)
    except Movie.DoesNotExist:
        raise Http404("No such movie") from None
    return render(request, "movies/detail.html", {"movie": movie})
