import pytest
from django.urls import reverse

from movies.models import Genre, Movie

pytestmark = pytest.mark.django_db


def test_home_lists_the_most_rated_movies(client, django_assert_max_num_queries):
    drama = Genre.objects.create(name="Drama")
    for i in range(30):
        Movie.objects.create(id=i + 1, title=f"Film {i}", year=2000, ratings_count=i).genres.add(drama)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert [m.title for m in response.context["movies"]][:2] == ["Film 29", "Film 28"]


def test_movie_page_shows_title_and_links(client):
    Movie.objects.create(id=1, title="Toy Story", year=1995, imdb_id="0114709", tmdb_id=862)
    response = client.get(reverse("movies:detail", args=[1]))
    assert response.status_code == 200
    assert b"https://www.imdb.com/title/tt0114709/" in response.content


def test_unknown_movie_is_404(client):
    assert client.get(reverse("movies:detail", args=[999])).status_code == 404
