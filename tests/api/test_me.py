"""The caller's own data: picks, ratings, "not interested"; always scoped to the caller."""

import pytest

from movies.models import Dismissal, Movie, Rating
from recommender.services import Pick

pytestmark = pytest.mark.django_db


def _put(client, url, body=None):
    return client.put(url, body if body is not None else {}, content_type="application/json")


@pytest.fixture
def refresh(mocker):
    return mocker.patch("recommender.services.picks.user_picks_refresh")


# --- Picks -------------------------------------------------------------------------------------


def test_picks_are_popular_movies_the_user_has_not_rated_without_a_model(as_alice, movies):
    picks = as_alice.get("/api/me/picks", {"n": 2}).json()
    assert [p["movie"]["id"] for p in picks] == [2, 4]  # most rated, Toy Story and Heat are rated
    assert all(p["personal"] is False and p["because"] is None for p in picks)


def test_picks_carry_stars_and_reasons_and_filter_by_genre(as_alice, alice, movies, mocker):
    recommend = mocker.patch(
        "recommender.api.me.recommend_for",
        return_value=[
            Pick(movie=movies["The Matrix"], stars=4.4, score=1.2, because=movies["Toy Story"]),
            Pick(movie=movies["Amélie"], stars=4.1, score=1.0, because=movies["Toy Story"]),
            Pick(movie=movies["Jumanji"], stars=3.9, score=0.8),
        ],
    )
    picks = as_alice.get("/api/me/picks", {"n": 1, "genre": "comedy"}).json()
    assert [p["movie"]["title"] for p in picks] == ["Amélie"]
    assert picks[0]["stars"] == 4.1 and picks[0]["personal"] is True
    assert picks[0]["because"]["title"] == "Toy Story"
    assert picks[0]["movie"]["genres"] == ["Comedy", "Drama"]
    assert recommend.call_args.args[0] == alice  # the caller, never anyone else


def test_picks_n_out_of_range_is_a_422(as_alice, movies):
    assert as_alice.get("/api/me/picks", {"n": 0}).status_code == 422
    assert as_alice.get("/api/me/picks", {"n": 101}).status_code == 422


# --- Ratings -----------------------------------------------------------------------------------


def test_it_lists_only_my_ratings(as_alice, as_carol, movies):
    assert [r["movie"]["id"] for r in as_alice.get("/api/me/ratings", {"sort": "highest"}).json()["results"]] == [1, 3]
    assert as_carol.get("/api/me/ratings").json()["count"] == 0


def test_put_creates_then_changes_a_rating_and_refreshes_picks(as_alice, alice, movies, refresh):
    count_before = Movie.objects.get(pk=4).ratings_count
    created = _put(as_alice, "/api/me/ratings/4", {"value": 3.5})
    assert created.status_code == 200 and created.json()["value"] == 3.5
    changed = _put(as_alice, "/api/me/ratings/4", {"value": 5})
    assert changed.json()["value"] == 5.0
    assert Rating.objects.get(user=alice, movie_id=4).value == 5.0
    assert Movie.objects.get(pk=4).ratings_count == count_before + 1  # counted once, not again on the change
    assert refresh.call_count == 2
    refresh.assert_called_with(user_id=alice.pk)


@pytest.mark.parametrize("value", [0, 0.25, 5.5, -1, 3.3, "four", None])
def test_an_out_of_range_rating_is_a_422_and_nothing_is_saved(as_alice, alice, movies, refresh, value):
    response = _put(as_alice, "/api/me/ratings/4", {"value": value})
    assert response.status_code == 422
    assert "value" in response.json()["detail"]
    assert not Rating.objects.filter(user=alice, movie_id=4).exists()
    refresh.assert_not_called()


@pytest.mark.parametrize("body", ["{not json", "[]", '"4"', ""])
def test_a_malformed_body_is_a_400_or_422(as_alice, movies, body):
    response = as_alice.put("/api/me/ratings/4", body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_rating_an_unknown_movie_is_a_404(as_alice, movies, refresh):
    response = _put(as_alice, "/api/me/ratings/999", {"value": 4})
    assert response.status_code == 404
    assert response.json() == {"detail": "No movie with id 999.", "errors": None}


def test_delete_removes_my_rating_and_refreshes_picks(as_alice, alice, movies, refresh):
    assert as_alice.delete("/api/me/ratings/1").status_code == 204
    assert not Rating.objects.filter(user=alice, movie_id=1).exists()
    refresh.assert_called_once_with(user_id=alice.pk)
    assert as_alice.delete("/api/me/ratings/1").status_code == 404
    assert as_alice.delete("/api/me/ratings/999").status_code == 404


def test_carol_can_neither_change_nor_delete_alices_ratings(as_carol, carol, alice, movies, refresh):
    # There is no user id in any path: carol's calls only ever touch carol's rows.
    assert as_carol.delete("/api/me/ratings/1").status_code == 404
    assert _put(as_carol, "/api/me/ratings/1", {"value": 0.5}).status_code == 200
    assert Rating.objects.get(user=alice, movie_id=1).value == 4.5
    assert Rating.objects.get(user=carol, movie_id=1).value == 0.5
    assert [r["movie"]["id"] for r in as_carol.get("/api/me/ratings").json()["results"]] == [1]


def test_a_failing_refresh_does_not_lose_the_rating(as_alice, alice, movies, mocker):
    mocker.patch("recommender.services.picks.user_picks_refresh", side_effect=RuntimeError("redis down"))
    assert _put(as_alice, "/api/me/ratings/4", {"value": 4}).status_code == 200
    assert Rating.objects.filter(user=alice, movie_id=4).exists()


# --- Not interested ----------------------------------------------------------------------------


def test_not_interested_add_list_remove(as_alice, alice, movies, refresh):
    added = _put(as_alice, "/api/me/not-interested/4")
    assert added.status_code == 200 and added.json()["movie"]["id"] == 4
    assert _put(as_alice, "/api/me/not-interested/4").status_code == 200  # twice is harmless
    assert [d["movie"]["id"] for d in as_alice.get("/api/me/not-interested").json()] == [4]
    assert as_alice.delete("/api/me/not-interested/4").status_code == 204
    assert as_alice.delete("/api/me/not-interested/4").status_code == 404
    assert not Dismissal.objects.filter(user=alice).exists()
    assert refresh.call_count == 3


def test_not_interested_in_an_unknown_movie_is_a_404(as_alice, movies, refresh):
    assert _put(as_alice, "/api/me/not-interested/999").status_code == 404
    refresh.assert_not_called()


def test_dismissed_movies_leave_the_picks(as_alice, movies):
    _put(as_alice, "/api/me/not-interested/2")
    assert 2 not in [p["movie"]["id"] for p in as_alice.get("/api/me/picks").json()]


def test_carol_does_not_see_alices_dismissals(as_alice, as_carol, movies, refresh):
    _put(as_alice, "/api/me/not-interested/4")
    assert as_carol.get("/api/me/not-interested").json() == []
    assert as_carol.delete("/api/me/not-interested/4").status_code == 404
