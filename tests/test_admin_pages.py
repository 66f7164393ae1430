"""Every admin page of the project opens for a superuser, searches included, in few queries."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from movies.models import Dismissal, Genre, Movie, MovieLensAccount, Rating, Tag

pytestmark = pytest.mark.django_db

OURS = ("movies", "recommender")


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


@pytest.fixture
def catalogue():
    at = datetime(2020, 1, 1, tzinfo=UTC)
    drama = Genre.objects.create(name="Drama")
    user = User.objects.create(username="movielens-1")
    MovieLensAccount.objects.create(movielens_id=1, user=user)
    for i in range(1, 31):
        movie = Movie.objects.create(id=i, title=f"Film {i}", year=1990 + i % 20, ratings_count=i)
        movie.genres.add(drama)
        Rating.objects.create(user=user, movie=movie, value=0.5 + (i % 10) / 2, rated_at=at)
        Tag.objects.create(user=user, movie=movie, text="classic", tagged_at=at)
    Dismissal.objects.create(user=user, movie_id=1)


def _our_models():
    return [m for m in admin.site._registry if m._meta.app_label in OURS]


@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_every_changelist_and_change_page_opens(superuser_client, catalogue, model, django_assert_max_num_queries):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    with django_assert_max_num_queries(15):
        response = superuser_client.get(url)
    assert response.status_code == 200
    assert superuser_client.get(url, {"q": "1"}).status_code == 200
    first = model.objects.first()
    if first is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
        assert superuser_client.get(change).status_code == 200
