"""Input that once gave a 500 or was stored when it should have been refused (issue 15, items 1-3, 11, 12)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from movies.models import Rating
from tests.api.conftest import PASSWORD, alice, alice_token, as_alice, movies  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 1. Signing up with a taken username ------------------------------------------------------


@pytest.mark.parametrize("username", ["bob", "BOB", "Bob"])
def test_signing_up_with_a_taken_username_in_any_case_is_a_form_error(bob, username):
    response = Client().post(reverse("signup"), {"username": username, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert get_user_model().objects.filter(username__iexact="bob").count() == 1


# --- 2. Deep JSON, big bodies, and who may send a body at all --------------------------------


def _deep(levels: int) -> bytes:
    return ("[" * levels + "]" * levels).encode()


def test_a_deeply_nested_body_without_credentials_is_a_401(db):
    response = Client().put("/api/me/ratings/2", _deep(1000), content_type="application/json")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")


def test_a_deeply_nested_body_with_credentials_is_a_json_400(as_alice):  # noqa: F811
    body = b'{"value": ' + _deep(1000) + b"}"
    response = as_alice.put("/api/me/ratings/2", body, content_type="application/json")
    assert response.status_code == 400
    assert "nest" in response.json()["detail"]


def test_a_body_nested_deeper_than_the_limit_inside_an_object_is_refused(as_alice):  # noqa: F811
    body = b'{"value": 4, "x": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"
    response = as_alice.put("/api/me/ratings/2", body, content_type="application/json")
    assert response.status_code == 400


def test_a_20_mb_body_is_a_json_413(as_alice):  # noqa: F811
    body = b'{"value": 4, "pad": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    response = as_alice.put("/api/me/ratings/2", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "too large" in response.json()["detail"]


def test_a_20_mb_body_without_credentials_is_a_401_or_413_in_json(db):
    body = b"x" * (20 * 1024 * 1024)
    response = Client().put("/api/me/ratings/2", body, content_type="application/json")
    assert response.status_code in (401, 413)
    assert response["Content-Type"].startswith("application/json")


# --- 3. A token name with NUL -------------------------------------------------------------


def test_a_token_name_with_nul_is_refused_by_the_form(alice):  # noqa: F811
    response = _logged_in(alice).post("/account/tokens/", {"name": "phone\x00app"})
    assert response.status_code == 422
    assert not ApiToken.objects.filter(user=alice).exists()
    assert b"name" in response.content.lower()


# --- 11. The API's rating value -----------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, "4", "4.5 ", None, [4], {"v": 4}])
def test_the_api_takes_only_json_numbers_as_a_rating(as_alice, value):  # noqa: F811
    response = as_alice.put("/api/me/ratings/2", json.dumps({"value": value}), content_type="application/json")
    assert response.status_code == 422, response.content
    assert not Rating.objects.filter(movie_id=2).exists()


@pytest.mark.parametrize("value", [4, 4.5, 0.5, 5.0])
def test_the_api_still_takes_numbers(as_alice, value):  # noqa: F811
    response = as_alice.put("/api/me/ratings/2", json.dumps({"value": value}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert Rating.objects.get(movie_id=2).value == value


def test_an_extra_field_in_a_rating_body_is_a_422_naming_it(as_alice, bob):  # noqa: F811
    response = as_alice.put(
        "/api/me/ratings/2", json.dumps({"value": 4, "user_id": bob.pk}), content_type="application/json"
    )
    assert response.status_code == 422
    assert "user_id" in response.json()["detail"]
    assert not Rating.objects.filter(movie_id=2).exists()


# --- 12. The site's rating form ----------------------------------------------------------


@pytest.mark.parametrize("value", ["\u0664", "+4.5", " 3 ", "4e0", "4.50", "04", "4.", ".5", "4,5", "NaN", "Infinity"])
def test_the_rating_form_refuses_anything_but_plain_half_stars(bob, movies, value):  # noqa: F811
    response = _logged_in(bob).post(reverse("movies:rate", args=[3]), {"value": value}, HTTP_HX_REQUEST="true")
    assert "value" in response.context["form"].errors
    assert not Rating.objects.filter(user=bob).exists()


@pytest.mark.parametrize(("value", "stars"), [("4", 4.0), ("4.5", 4.5), ("0.5", 0.5), ("5.0", 5.0), ("3.0", 3.0)])
def test_the_rating_form_takes_what_its_widget_sends(bob, movies, value, stars):  # noqa: F811
    response = _logged_in(bob).post(reverse("movies:rate", args=[3]), {"value": value})
    assert response.status_code == 302
    assert Rating.objects.get(user=bob).value == stars
