"""The watchlist through the API: save for later, list, remove; saved movies leave the picks."""

import pytest

from movies.models import WatchlistEntry

pytestmark = pytest.mark.django_db


def _put(client, url):
    return client.put(url, {}, content_type="application/json")


def test_save_list_and_remove(as_alice, alice, movies):
    saved = _put(as_alice, "/api/me/watchlist/4")
    assert saved.status_code == 200 and saved.json()["movie"]["title"] == "The Matrix"
    assert _put(as_alice, "/api/me/watchlist/4").status_code == 200  # twice is harmless
    assert [e["movie"]["id"] for e in as_alice.get("/api/me/watchlist").json()] == [4]
    assert as_alice.delete("/api/me/watchlist/4").status_code == 204
    assert as_alice.delete("/api/me/watchlist/4").status_code == 404
    assert not WatchlistEntry.objects.filter(user=alice).exists()


def test_saving_an_unknown_movie_is_a_404(as_alice, movies):
    assert _put(as_alice, "/api/me/watchlist/999").status_code == 404


def test_a_saved_movie_leaves_the_picks_until_taken_off(as_alice, movies):
    before = [p["movie"]["id"] for p in as_alice.get("/api/me/picks").json()]
    assert before
    _put(as_alice, f"/api/me/watchlist/{before[0]}")
    assert before[0] not in [p["movie"]["id"] for p in as_alice.get("/api/me/picks").json()]
    as_alice.delete(f"/api/me/watchlist/{before[0]}")
    assert before[0] in [p["movie"]["id"] for p in as_alice.get("/api/me/picks").json()]


def test_carol_does_not_see_alices_watchlist(as_alice, as_carol, movies):
    _put(as_alice, "/api/me/watchlist/4")
    assert as_carol.get("/api/me/watchlist").json() == []
    assert as_carol.delete("/api/me/watchlist/4").status_code == 404
