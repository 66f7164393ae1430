"""Sessions kept a few seconds in the process (accounts/session_store.py): a page reads its session
without Redis, a logout or a change through this process holds at the next request, and a session
deleted elsewhere stops letting anyone in once the kept copy is older than KEPT_SECONDS."""

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import session_store

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def as_bob(redis_cache, settings) -> Iterator[Client]:
    settings.SESSION_ENGINE = "accounts.session_store"
    session_store.kept_clear()
    get_user_model().objects.create_user("bob", password=PASSWORD)
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    yield client
    session_store.kept_clear()


def _user_of(client: Client) -> str | None:
    response = client.get("/accounts/password_change/")
    return response.wsgi_request.user.username if response.status_code == 200 else None


def _delete_elsewhere(redis_cache, key: str) -> None:
    # What another process's logout does to the shared stores.
    redis_cache.delete(KEY_PREFIX + key)
    Session.objects.filter(session_key=key).delete()


def test_a_page_reads_its_session_from_the_process_and_a_stale_copy_is_read_again(as_bob, redis_cache, monkeypatch):
    assert _user_of(as_bob) == "bob"
    key = as_bob.session.session_key
    _delete_elsewhere(redis_cache, key)
    assert _user_of(as_bob) == "bob"  # the process's copy, not Redis
    monkeypatch.setattr(session_store, "KEPT_SECONDS", 0.0)
    assert _user_of(as_bob) is None  # past KEPT_SECONDS: read again, and gone


def test_a_logout_through_this_process_holds_at_once_even_for_a_replayed_cookie(as_bob):
    assert _user_of(as_bob) == "bob"
    cookie = as_bob.cookies["sessionid"].value
    response = as_bob.post("/accounts/logout/")
    assert response.status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert _user_of(replay) is None


def test_a_session_saved_by_a_request_is_what_the_next_request_reads(as_bob):
    assert _user_of(as_bob) == "bob"
    key = as_bob.session.session_key
    store = session_store.SessionStore(key)
    store["seen"] = "the new value"
    store.save()
    assert session_store.SessionStore(key)["seen"] == "the new value"
    assert session_store._kept[key][1]["seen"] == "the new value"
