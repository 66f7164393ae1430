"""Movies by tag: where a tag on a movie's page leads."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from movies import selectors


@require_GET
def tag_detail(request: HttpRequest, tag: str) -> HttpResponse:
    movies = selectors.movie_list_tagged(tag=tag)
    ids = [m.pk for m in movies]
    return render(
        request,
        "movies/tag.html",
        {"tag": tag, "movies": movies, "my_values": selectors.rating_values_for_user(user=request.user, movie_ids=ids)},
        status=200 if movies else 404,
    )
