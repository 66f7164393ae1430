"""Celery tasks of the catalogue's pages: render a stale cached section again, off the request.

Sent by name from recommender.dispatch (sections_refresh_in_worker); each loads what it needs and
calls the function the page itself uses to render and store the section.
"""

from celery import shared_task
from django.contrib.auth import get_user_model

from movies.models import Movie


@shared_task(name="movies.home_section_refresh", ignore_result=True)
def home_section_refresh(user_id: int) -> None:
    from movies.views.catalogue import home_section_store

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        home_section_store(user)


@shared_task(name="movies.movie_section_refresh", ignore_result=True)
def movie_section_refresh(movie_id: int) -> None:
    from movies.views.catalogue import movie_about_store

    movie = Movie.objects.filter(pk=movie_id).first()
    if movie is not None:
        movie_about_store(movie)
