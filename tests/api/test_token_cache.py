"""Token lookups remembered in Redis: no query per call, and a revoke that every process hears at once."""

import pytest
from django.core.cache import caches

from accounts import tokens as token_service
from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke, api_token_user, token_hash
from recommender import cache_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(redis_cache):
    return redis_cache


def _key(secret: str) -> str:
    return cache_keys.api_token(token_hash(secret))


def test_a_found_token_is_remembered_and_then_costs_no_query(shared, alice, django_assert_num_queries):
    secret = api_token_create(user=alice, name="app").secret
    assert api_token_user(secret=secret) == alice
    with django_assert_num_queries(0):
        user = api_token_user(secret=secret)
    assert (user.pk, user.username, user.is_active) == (alice.pk, "alice", True)


def test_the_cache_holds_no_password_hash_and_a_remembered_user_still_reads_its_other_fields(shared, alice):
    secret = api_token_create(user=alice, name="app").secret
    api_token_user(secret=secret)
    assert alice.password not in repr(shared.get(_key(secret)))
    user = api_token_user(secret=secret)
    assert user.password == alice.password  # a deferred field, read when asked, never blank
    user.save()  # writes only what it holds
    alice.refresh_from_db()
    assert alice.check_password("a-long-test-passphrase-42")


def test_an_unknown_secret_is_not_remembered(shared, alice):
    assert api_token_user(secret="mvr_unknown") is None
    assert shared.get(_key("mvr_unknown")) is None


def test_a_revoke_reaches_a_process_that_remembered_the_token(shared, alice):
    new = api_token_create(user=alice, name="app")
    assert api_token_user(secret=new.secret) == alice
    api_token_revoke(user=alice, token_id=new.token.pk)
    # Another web process holds its own connection to the same Redis: it sees the mark too.
    other_process = caches.create_connection("default")
    assert other_process.get(_key(new.secret)) == token_service._REVOKED
    assert api_token_user(secret=new.secret) is None


def test_a_lookup_that_read_the_token_before_the_revoke_cannot_put_it_back(shared, alice):
    new = api_token_create(user=alice, name="app")
    stale = token_service._user_fields(alice)  # what a slower process read while the token was live
    api_token_revoke(user=alice, token_id=new.token.pk)
    shared.add(_key(new.secret), stale, token_service.CACHE_SECONDS)
    assert api_token_user(secret=new.secret) is None


def test_last_used_is_written_at_most_once_a_minute_even_across_cache_expiry(shared, alice):
    new = api_token_create(user=alice, name="app")
    api_token_user(secret=new.secret)
    first = ApiToken.objects.get(pk=new.token.pk).last_used_at
    shared.delete(_key(new.secret))  # the entry expired: the next call reads the database again
    api_token_user(secret=new.secret)
    assert ApiToken.objects.get(pk=new.token.pk).last_used_at == first


def test_a_remembered_token_is_refused_at_once_when_its_user_is_deactivated_and_works_again_after(
    shared, alice, alice_token, as_alice
):
    assert as_alice.get("/api/me/ratings").status_code == 200  # now remembered
    alice.is_active = False
    alice.save()
    assert as_alice.get("/api/me/ratings").status_code == 401
    alice.is_active = True
    alice.save()
    assert as_alice.get("/api/me/ratings").status_code == 200


def test_a_remembered_token_of_a_deleted_user_is_a_401_not_an_error(shared, alice, alice_token, as_alice):
    assert as_alice.get("/api/me/ratings").status_code == 200
    alice.delete()
    assert shared.get(_key(alice_token)) == token_service._REVOKED
    response = as_alice.put("/api/me/ratings/4", data={"rating": 4.0}, content_type="application/json")
    assert response.status_code == 401
