"""Who may call what: bearer tokens (bad, missing, revoked), sessions with and without CSRF."""

import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from movies.models import Rating

from .conftest import ME_CALLS, PASSWORD
from .conftest import call as _call

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "url"), ME_CALLS)
def test_every_user_call_without_credentials_is_a_401(api, alice, method, url):
    response = _call(api, method, url)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize(
    "header",
    ["Bearer mvr_not-a-real-token", "Bearer ", "Bearer " + "x" * 5000, "Token abc", "Basic YWxpY2U6cHc="],
)
def test_a_bad_token_is_a_401_and_changes_nothing(alice, header):
    client = Client(headers={"Authorization": header})
    response = _call(client, "put", "/api/me/ratings/4")
    assert response.status_code == 401
    assert not Rating.objects.filter(movie_id=4).exists()


def test_a_revoked_token_is_refused_at_once(redis_cache, alice, alice_token, as_alice):
    assert as_alice.get("/api/me/ratings").status_code == 200
    api_token_revoke(user=alice, token_id=ApiToken.objects.get(user=alice).pk)
    response = as_alice.get("/api/me/ratings")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API token."


def test_a_token_of_an_inactive_user_is_refused(alice, as_alice):
    alice.is_active = False
    alice.save()
    assert as_alice.get("/api/me/ratings").status_code == 401


def test_only_a_hash_of_the_secret_is_stored(alice):
    new = api_token_create(user=alice, name="phone")
    stored = ApiToken.objects.get(pk=new.token.pk)
    assert stored.token_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret not in {stored.token_hash, stored.prefix, stored.name}
    assert new.secret.startswith(stored.prefix)


def test_a_call_records_when_the_token_was_last_used(alice, as_alice):
    assert ApiToken.objects.get(user=alice).last_used_at is None
    as_alice.get("/api/me/ratings")
    first = ApiToken.objects.get(user=alice).last_used_at
    assert first is not None and (timezone.now() - first).total_seconds() < 5
    as_alice.get("/api/me/ratings")  # within a minute: no second write
    assert ApiToken.objects.get(user=alice).last_used_at == first


def test_a_token_needs_no_csrf_token(as_alice, alice, movies):
    assert as_alice.put("/api/me/ratings/4", {"value": 4}, content_type="application/json").status_code == 200


@pytest.fixture
def alice_session(alice) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    return client


def test_a_session_reads_without_csrf(alice_session):
    assert alice_session.get("/api/me/ratings").json()["count"] == 2


@pytest.mark.parametrize(("method", "url"), [c for c in ME_CALLS if c[0] != "get"])
def test_a_session_write_without_the_csrf_token_is_a_403(alice_session, alice, method, url):
    response = _call(alice_session, method, url)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Rating.objects.filter(user=alice).count() == 2


def test_a_session_write_with_a_wrong_csrf_token_is_a_403(alice_session):
    alice_session.get("/account/tokens/")  # sets the csrftoken cookie
    response = alice_session.put(
        "/api/me/ratings/4", {"value": 4}, content_type="application/json", headers={"X-CSRFToken": "x" * 32}
    )
    assert response.status_code == 403


def test_a_session_write_with_the_csrf_token_succeeds(alice_session, alice, movies):
    alice_session.get("/account/tokens/")
    csrf = alice_session.cookies["csrftoken"].value
    response = alice_session.put(
        "/api/me/ratings/4", {"value": 4}, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 200
    assert Rating.objects.filter(user=alice, movie_id=4).exists()


def test_a_bad_token_is_not_rescued_by_a_session(alice_session):
    # A program that sends a token hears about that token, whatever cookies it also holds.
    response = alice_session.get("/api/me/ratings", headers={"Authorization": "Bearer mvr_wrong"})
    assert response.status_code == 401


def test_the_public_reads_need_no_credentials(api, movies):
    for url in ("/api/movies", "/api/movies/1", "/api/genres", "/api/openapi.json", "/api/docs"):
        assert api.get(url).status_code == 200, url


def test_the_schema_declares_both_ways_in(api, db):
    schema = api.get("/api/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert "security" not in schema["paths"]["/api/movies"]["get"]
    assert schema["paths"]["/api/me/picks"]["get"]["security"]
