"""The account page where a user makes and revokes API tokens."""

import pytest
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import api_token_create

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


def test_the_page_needs_a_login(api, db):
    response = api.get("/account/tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_nav_links_to_the_account_page_which_links_to_the_page(alice):
    client = _logged_in(alice)
    assert b'href="/accounts/me/"' in client.get("/").content
    assert b'href="/account/tokens/"' in client.get("/accounts/me/").content


def test_creating_a_token_shows_its_secret_once(alice):
    client = _logged_in(alice)
    response = client.post("/account/tokens/", {"name": "phone app"})
    assert response.status_code == 200
    assert [t.name for t in response.context["tokens"]] == ["phone app"]
    secret = response.context["secret"]
    assert secret.encode() in response.content
    # Neither the browser's cache nor a proxy may keep the one response that shows the secret.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert b'data-copy="new-token"' in response.content
    again = client.get("/account/tokens/")
    assert secret.encode() not in again.content and b"phone app" in again.content
    assert Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/me/ratings").status_code == 200


def test_a_token_needs_a_name(alice):
    response = _logged_in(alice).post("/account/tokens/", {"name": "  "})
    assert response.status_code == 422
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it(alice):
    new = api_token_create(user=alice, name="script")
    response = _logged_in(alice).post(f"/account/tokens/{new.token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=new.token.pk).is_revoked
    assert Client(headers={"Authorization": f"Bearer {new.secret}"}).get("/api/me/ratings").status_code == 401


def test_carol_cannot_see_or_revoke_alices_tokens(alice, carol):
    new = api_token_create(user=alice, name="alices-laptop")
    client = _logged_in(carol)
    assert b"alices-laptop" not in client.get("/account/tokens/").content
    client.post(f"/account/tokens/{new.token.pk}/revoke/")
    assert not ApiToken.objects.get(pk=new.token.pk).is_revoked


def test_revoking_needs_a_post(alice):
    new = api_token_create(user=alice, name="script")
    assert _logged_in(alice).get(f"/account/tokens/{new.token.pk}/revoke/").status_code == 405
