"""GET /api/me/picks keeps each user's finished body in the cache; nothing stale or foreign is served.

A trained model (tests.worlds.two_tastes_world: fans 0-19 like the "A" movies 1-20, fans 20-39 the
"B" ones). Every test first fills the cache with a call, then changes something and calls again.
"""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.tokens import api_token_create
from recommender import services
from recommender.api import me
from recommender.cache_keys import api_picks
from recommender.services import factors_cache
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def fans(trained_run):
    """40 users of two tastes and a trained, active version; the cache empty before and after."""
    cache.clear()
    users = two_tastes_world()
    install(trained_run)
    yield users
    cache.clear()


def _client(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_token_create(user=user, name='tests').secret}"})


def _ids(client: Client, **query) -> list[int]:
    response = client.get("/api/me/picks", query)
    assert response.status_code == 200
    return [p["movie"]["id"] for p in response.json()]


@pytest.fixture
def built(mocker):
    """Counts the bodies actually built (cache misses)."""
    return mocker.spy(me, "_picks_json")


def test_a_repeated_call_is_served_from_the_cache(fans, built):
    client = _client(fans[0])
    first = client.get("/api/me/picks", {"n": 5}).content
    second = client.get("/api/me/picks", {"n": 5}).content
    assert first == second
    assert built.call_count == 1


def test_rating_a_pick_takes_it_out_at_once(fans, built):
    client = _client(fans[0])
    picked = _ids(client, n=5)
    client.put(f"/api/me/ratings/{picked[0]}", {"value": 4}, content_type="application/json")
    assert picked[0] not in _ids(client, n=5)
    assert built.call_count == 2


@pytest.mark.parametrize(
    ("url", "body"),
    [("/api/me/ratings/{}", {"value": 4}), ("/api/me/not-interested/{}", None)],
    ids=["rate", "dismiss"],
)
def test_rating_or_dismissing_a_pick_takes_it_out_at_once_and_undoing_it_brings_it_back(fans, url, body):
    client = _client(fans[0])
    picked = _ids(client, n=5)
    client.put(url.format(picked[0]), body, content_type="application/json")
    assert picked[0] not in _ids(client, n=5)
    client.delete(url.format(picked[0]))
    assert _ids(client, n=5) == picked


def test_a_rating_made_on_the_site_shows_in_the_api_at_once(fans):
    client = _client(fans[0])
    picked = _ids(client, n=5)
    site = Client()
    site.force_login(fans[0])
    site.post(reverse("movies:rate", args=[picked[0]]), {"value": "2"})
    assert picked[0] not in _ids(client, n=5)


def test_activating_another_version_changes_the_picks_at_once_and_a_roll_back_too(fans, other_trained_run):
    client = _client(fans[0])
    first_version = services.active_factors()[0]
    before = client.get("/api/me/picks", {"n": 5}).json()
    install(other_trained_run)  # another model, now active
    after = client.get("/api/me/picks", {"n": 5}).json()
    cache.clear()
    assert after == client.get("/api/me/picks", {"n": 5}).json()  # what a first call under v2 gives
    assert after != before  # v2's stars differ from v1's
    services.version_activate(version=services.versions.ModelVersion.objects.get(pk=first_version))
    factors_cache.forget()
    assert client.get("/api/me/picks", {"n": 5}).json() == before


def test_each_user_gets_their_own_picks_never_anothers(fans):
    a_fan, b_fan = _client(fans[0]), _client(fans[20])
    a_picks, b_picks = _ids(a_fan, n=5), _ids(b_fan, n=5)
    assert all(m <= 20 for m in a_picks) and all(m > 20 for m in b_picks)  # each their own taste
    assert _ids(a_fan, n=5) == a_picks and _ids(b_fan, n=5) == b_picks
    assert api_picks(user_id=fans[0].pk, n=5, genre=None) != api_picks(user_id=fans[20].pk, n=5, genre=None)


def test_n_and_genre_each_have_their_own_entry(fans, built):
    client = _client(fans[0])
    assert len(_ids(client, n=3)) == 3
    assert len(_ids(client, n=5)) == 5
    action, romance = _ids(client, n=3, genre="Action"), _ids(client, n=3, genre="Romance")
    assert all(m <= 20 for m in action) and all(m > 20 for m in romance)
    assert _ids(client, n=3, genre="action") == action  # the filter ignores case, and so does the key
    assert built.call_count == 4


def test_zero_seconds_turns_the_cache_off(fans, built, settings):
    settings.API_PICKS_CACHE_SECONDS = 0
    client = _client(fans[0])
    _ids(client, n=5)
    _ids(client, n=5)
    assert built.call_count == 2


def test_the_shared_cache_serves_a_repeat_and_drops_it_after_a_rating(fans, built, redis_cache):
    """The same on Redis, as web processes share it in production."""
    client = _client(fans[0])
    picked = _ids(client, n=5)
    assert _ids(client, n=5) == picked
    assert built.call_count == 1
    client.put(f"/api/me/ratings/{picked[0]}", {"value": 4}, content_type="application/json")
    assert picked[0] not in _ids(client, n=5)
    assert built.call_count == 2
