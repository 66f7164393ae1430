"""The explore page: the parts of the tutorial's analysis that need no trained model."""

import pytest
from django.urls import reverse

from movies import selectors
from movies.models import Movie

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(movies) -> dict[str, Movie]:
    totals = {"Toy Story": (100, 4.0), "Jumanji": (10, 3.0), "Heat": (60, 4.5), "The Matrix": (200, 4.2)}
    for title, (count, mean) in totals.items():
        Movie.objects.filter(pk=movies[title].pk).update(ratings_count=count, ratings_mean=mean)
    return movies


def test_genre_stats_weigh_each_movie_by_its_number_of_ratings(rated):
    stats = {g.name: g for g in selectors.genre_stats_list()}
    comedy = stats["Comedy"]  # Toy Story, Jumanji, Amélie (unrated)
    assert (comedy.movies, comedy.ratings) == (3, 110)
    assert comedy.mean == pytest.approx((100 * 4.0 + 10 * 3.0) / 110)
    assert stats["Sci-Fi"].mean == pytest.approx(4.2)


def test_explore_shows_top_rated_most_rated_and_genres_in_bounded_queries(client, rated, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        response = client.get(reverse("movies:explore"), {"min_ratings": 50})
    assert response.status_code == 200
    assert "movies/explore.html" in [t.name for t in response.templates]
    assert [m.title for m in response.context["top_rated"]] == ["Heat", "The Matrix", "Toy Story"]
    assert [m.title for m in response.context["most_rated"]][:2] == ["The Matrix", "Toy Story"]
    assert response.context["genres_by_mean"][0].name == "Drama"  # Heat 4.5 (Amélie unrated)
    assert response.context["genres_by_count"][0].name == "Sci-Fi"
    assert b'id="explore-model-block"' in response.content


def test_explore_falls_back_to_the_default_minimum_for_a_bad_value(client, rated):
    response = client.get(reverse("movies:explore"), {"min_ratings": "lots"})
    assert response.status_code == 200
    assert response.context["min_ratings"] == 50
