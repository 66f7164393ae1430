"""The session's user served from the shared cache (accounts/auth_backend.py): no query per page,
and a change to the user (password, deactivation, deletion) seen by the very next request."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from recommender.cache_keys import auth_user as _key

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob", password=PASSWORD)


@pytest.fixture
def as_bob(bob) -> Client:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    return client


def _logged_in_as(client: Client) -> str | None:
    response = client.get("/accounts/password_change/")
    return response.wsgi_request.user.username if response.status_code == 200 else None


def test_the_user_of_a_session_is_read_from_the_cache_without_the_password_hash(redis_cache, bob, as_bob):
    assert _logged_in_as(as_bob) == "bob"
    _generation, values, session_hash = redis_cache.get(_key(bob.pk))
    assert bob.password not in repr(values)
    assert session_hash == bob.get_session_auth_hash()


def test_a_cached_user_costs_no_query_on_a_page(redis_cache, bob, as_bob, django_assert_num_queries):
    as_bob.get("/accounts/password_change/")  # the user is now remembered; the session is in the cache too
    from django.contrib.auth import get_user

    request = as_bob.get("/accounts/password_change/").wsgi_request
    with django_assert_num_queries(0):
        user = get_user(request)
    assert user.username == "bob"


def test_a_password_changed_elsewhere_logs_the_session_out_at_once(redis_cache, bob, as_bob):
    assert _logged_in_as(as_bob) == "bob"
    bob.set_password("another-long-passphrase-43")
    bob.save()
    assert _logged_in_as(as_bob) is None


def test_a_deactivated_or_deleted_user_is_logged_out_at_once(redis_cache, bob, as_bob):
    assert _logged_in_as(as_bob) == "bob"
    bob.is_active = False
    bob.save()
    assert _logged_in_as(as_bob) is None
    bob.is_active = True
    bob.save()
    assert _logged_in_as(as_bob) == "bob"
    bob.delete()
    assert _logged_in_as(as_bob) is None


def test_a_cached_user_saved_by_a_view_keeps_its_password(redis_cache, bob, as_bob):
    assert _logged_in_as(as_bob) == "bob"
    user = as_bob.get("/accounts/password_change/").wsgi_request.user
    user.first_name = "Bob"
    user.save()  # a deferred password is not written back blank
    bob.refresh_from_db()
    assert bob.first_name == "Bob" and bob.check_password(PASSWORD)


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(redis_cache, bob, as_bob):
    other = Client()
    assert other.login(username="bob", password=PASSWORD)
    assert _logged_in_as(as_bob) == _logged_in_as(other) == "bob"  # both remembered
    new = "another-long-passphrase-43"
    response = as_bob.post(
        "/accounts/password_change/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert _logged_in_as(as_bob) == "bob"
    assert _logged_in_as(other) is None
