"""The Content-Security-Policy header on every kind of answer, and no-store on pages showing a secret
(issue 15, item 7; tests/browser/test_csp.py checks that no page breaks the policy)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def as_alice() -> Client:
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    client = Client()
    client.force_login(alice)
    return client


@pytest.mark.parametrize("path", ["/", "/movies/", "/accounts/login/", "/api/movies", "/admin/login/"])
def test_every_answer_carries_the_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "'unsafe-eval'" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_the_page_showing_a_new_token_is_never_stored(as_alice):
    response = as_alice.post("/account/tokens/", {"name": "phone"})
    assert response.context["secret"]
    assert "no-store" in response["Cache-Control"]


def test_the_token_list_is_never_stored_either(as_alice):
    assert "no-store" in as_alice.get("/account/tokens/")["Cache-Control"]
