"""Reads of the catalogue. Views and the recommender call these, never raw querysets."""

from django.db.models import QuerySet

from movies.models import Movie


def movie_list_most_rated(*, limit: int = 20) -> QuerySet[Movie]:
    return Movie.objects.prefetch_related("genres").order_by("-ratings_count", "title")[:limit]


def movie_get(*, movie_id: int) -> Movie:
    return Movie.objects.prefetch_related("genres").get(pk=movie_id)
