"""Small things a person notices: the home page's headings and figures, undoing "Remove rating", the filters."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from movies.models import Movie, Rating
from tests.catalogue import PASSWORD

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_visitor_s_home_page_says_what_the_catalogue_holds(client, movies):
    Movie.objects.filter(pk__in=[1, 2]).update(ratings_count=1200)
    body = client.get("/").content.decode()
    assert "learned from 2,400 ratings of 5 movies" in body
    assert "millions" not in body


def test_an_empty_catalogue_claims_no_figures(client, db):
    body = client.get("/").content.decode()
    assert "learned from everybody's ratings" in body


@pytest.mark.parametrize(("onboarding_ratings", "heading"), [(3, "Hello, alice"), (10, "Welcome, alice")])
def test_the_logged_in_home_page_has_one_h1_during_and_after_onboarding(
    alice, alice_ratings, monkeypatch, onboarding_ratings, heading
):
    # alice has 3 ratings: done with onboarding when it asks for 3, still in it when it asks for 10.
    monkeypatch.setattr("movies.views.catalogue.ONBOARDING_RATINGS", onboarding_ratings)
    monkeypatch.setattr("movies.views.picks.ONBOARDING_RATINGS", onboarding_ratings)
    body = _logged_in(alice).get("/").content.decode()
    (h1,) = re.findall(r"<h1[^>]*>(.*?)</h1>", body, flags=re.S)
    assert h1.strip().startswith(heading)


def test_removing_a_rating_offers_an_undo_that_puts_the_same_stars_back(alice, alice_ratings):
    client = _logged_in(alice)
    toy_story = alice_ratings["Toy Story"].movie
    removed = client.post(f"/movies/{toy_story.pk}/rating/delete/", {"next": "/me/ratings/"}, **HTMX)
    assert removed.status_code == 200
    body = removed.content.decode()
    assert "Rating removed." in body and 'name="value" value="4.5"' in body
    assert not Rating.objects.filter(user=alice, movie=toy_story).exists()
    assert Movie.objects.get(pk=toy_story.pk).ratings_count == 0

    action = re.search(r'class="undo-remove" hx-post="([^"]+)"', body).group(1)
    undone = client.post(action, {"value": "4.5", "next": "/me/ratings/"}, **HTMX)
    assert undone.status_code == 200 and "Rating removed." not in undone.content.decode()
    assert Rating.objects.get(user=alice, movie=toy_story).value == 4.5
    movie = Movie.objects.get(pk=toy_story.pk)
    assert (movie.ratings_count, movie.ratings_mean) == (1, 4.5)


def test_removing_a_rating_that_was_not_there_offers_no_undo(alice, movies):
    response = _logged_in(alice).post("/movies/1/rating/delete/", **HTMX)
    assert response.status_code == 200 and "Rating removed." not in response.content.decode()
