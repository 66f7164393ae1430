"""Picks a person steers: the watchlist and "haven't seen it" keep movies out, filters by genre and
decade, genre rows only for genres rated highly; and the movie page's histogram and tag page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from movies import selectors, services
from movies.models import Movie, Rating, Skip, Tag
from movies.views.picks import picks_chosen
from recommender.services import recommend_for
from recommender.services.picks_queries import SKIP_DAYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def popular(movies) -> dict[str, Movie]:
    """Every fixture movie well rated enough to be a popular pick."""
    for i, movie in enumerate(movies.values()):
        Movie.objects.filter(pk=movie.pk).update(ratings_count=100 - i, ratings_mean=4.0)
    return movies


def _picked(user) -> list[str]:
    return [p.movie.title for p in recommend_for(user, n=10)]


def test_a_saved_movie_stays_out_of_the_picks_while_on_the_watchlist(bob, popular):
    assert "Heat" in _picked(bob)
    services.watchlist_add(user=bob, movie_id=popular["Heat"].pk)
    assert "Heat" not in _picked(bob)
    assert [e.movie.title for e in selectors.watchlist_for_user(user=bob)] == ["Heat"]
    services.watchlist_remove(user=bob, movie_id=popular["Heat"].pk)
    assert "Heat" in _picked(bob)


def test_a_skipped_movie_does_not_come_back_straight_away_but_does_later(bob, popular):
    services.movie_skip(user=bob, movie_id=popular["Jumanji"].pk)
    assert "Jumanji" not in _picked(bob)
    Skip.objects.filter(user=bob).update(created_at=timezone.now() - timedelta(days=SKIP_DAYS + 1))
    assert "Jumanji" in _picked(bob)


def test_the_skip_button_takes_the_card_away_and_onboarding_offers_the_next_movie(bob, popular):
    client = Client()
    client.force_login(bob)
    response = client.post(reverse("movies:skip", args=[popular["Heat"].pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.content == b""
    assert Skip.objects.filter(user=bob, movie=popular["Heat"]).exists()
    groups = selectors.movie_groups_well_known(genre_names=["Drama"], exclude={popular["Heat"].pk})
    assert [m.title for g in groups for m in g.movies] == ["Amélie"]


def test_picks_filter_by_genre_and_decade(bob, popular):
    assert {p.movie.title for p in picks_chosen(bob, genre="Comedy")} == {"Toy Story", "Jumanji", "Amélie"}
    assert {p.movie.title for p in picks_chosen(bob, decade=1990)} == {"Toy Story", "Jumanji", "Heat", "The Matrix"}
    assert [p.movie.title for p in picks_chosen(bob, genre="Comedy", decade=2000)] == ["Amélie"]


def test_the_picks_page_filters_without_javascript_and_as_an_htmx_partial(popular, alice, alice_ratings):
    for title in ["Jumanji", "Amélie"]:
        Rating.objects.create(user=alice, movie=popular[title], value=4.0, rated_at=datetime(2024, 2, 1, tzinfo=UTC))
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("movies:picks"), {"genre": "Drama"})
    assert "movies/picks.html" in [t.name for t in page.templates]
    partial = client.get(reverse("movies:picks"), {"decade": "1990"}, headers={"HX-Request": "true"})
    assert "movies/picks.html" not in [t.name for t in partial.templates]
    assert 'id="picks-filter"' in partial.content.decode()


def test_genre_rows_only_for_genres_the_user_rates_highly(alice, movies):
    at = datetime(2024, 1, 1, tzinfo=UTC)
    values = {"Toy Story": 5.0, "Jumanji": 2.0, "Amélie": 2.5, "Heat": 4.5, "The Matrix": 5.0}
    for title, value in values.items():
        Rating.objects.create(user=alice, movie=movies[title], value=value, rated_at=at)
    # Comedy (Toy Story, Jumanji, Amélie) averages 3.2: rated often but low, no row; Drama's 3.5 is
    # below alice's own average of 3.8.
    assert [g.name for g in selectors.genre_list_rated_highly_by_user(user=alice, min_rated=1)] == [
        "Animation",
        "Sci-Fi",
    ]
    assert selectors.genre_list_rated_highly_by_user(user=alice, min_rated=2) == []


def test_the_movie_page_shows_the_spread_of_ratings_and_tags_lead_to_a_tag_page(client, alice, bob, movies):
    cache.clear()  # the page's parts for everybody are cached per movie: start from none an earlier test left
    heat = movies["Heat"]
    at = datetime(2024, 1, 1, tzinfo=UTC)
    services.rating_create_or_update(user=alice, movie_id=heat.pk, value=4.5)
    services.rating_create_or_update(user=bob, movie_id=heat.pk, value=2.0)
    bars = {bar.value: bar.count for bar in selectors.movie_rating_histogram(movie_id=heat.pk)}
    assert bars == {v / 2: (1 if v / 2 in (4.5, 2.0) else 0) for v in range(1, 11)}
    Tag.objects.create(user=alice, movie=heat, text="Heist / crime", tagged_at=at)
    html = client.get(reverse("movies:detail", args=[heat.pk])).content.decode()
    assert 'class="histogram"' in html
    tag_url = reverse("movies:tag", args=["Heist / crime"])
    assert f'href="{tag_url}"' in html
    page = client.get(tag_url)
    assert page.status_code == 200 and [m.title for m in page.context["movies"]] == ["Heat"]
    assert client.get(reverse("movies:tag", args=["no such tag"])).status_code == 404
