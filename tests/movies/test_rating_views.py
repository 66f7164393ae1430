"""Rating, removing and "not interested" through the pages, with and without htmx."""

import pytest
from django.test import Client
from django.urls import reverse

from movies.models import Dismissal, Movie, Rating
from tests.movies.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_htmx_rating_post_saves_the_rating_and_returns_the_widget(bob, movies):
    heat = movies["Heat"]
    response = _logged_in(bob).post(reverse("movies:rate", args=[heat.pk]), {"value": "4.5"}, **HTMX)
    assert response.status_code == 200
    assert response.templates[0].name == "movies/_rating_widget.html"
    assert Rating.objects.get(user=bob, movie=heat).value == 4.5
    assert Movie.objects.get(pk=heat.pk).ratings_count == 1
    html = response.content.decode()
    assert f'id="rating-{heat.pk}"' in html
    assert 'value="4.5" id="rate-3-9" checked' in html
    assert "<html" not in html  # a fragment, not a page


def test_a_plain_rating_post_redirects_back_to_the_page_it_came_from(bob, movies):
    heat = movies["Heat"]
    response = _logged_in(bob).post(
        reverse("movies:rate", args=[heat.pk]), {"value": "3", "next": reverse("movies:my_ratings")}
    )
    assert response.status_code == 302
    assert response.url == reverse("movies:my_ratings")
    assert Rating.objects.get(user=bob, movie=heat).value == 3.0


def test_a_plain_rating_post_never_redirects_to_another_site(bob, movies):
    heat = movies["Heat"]
    response = _logged_in(bob).post(
        reverse("movies:rate", args=[heat.pk]), {"value": "3", "next": "https://evil.example/"}
    )
    assert response.url == heat.get_absolute_url()


@pytest.mark.parametrize("value", ["0", "5.5", "2.25", "", "abc"])
def test_an_invalid_rating_is_refused_with_422_and_nothing_is_written(bob, movies, value):
    response = _logged_in(bob).post(reverse("movies:rate", args=[movies["Heat"].pk]), {"value": value}, **HTMX)
    assert response.status_code == 422
    assert b"Not saved" in response.content
    assert not Rating.objects.exists()


def test_rating_an_unknown_movie_is_404(bob, movies):
    response = _logged_in(bob).post(reverse("movies:rate", args=[999_999]), {"value": "4"}, **HTMX)
    assert response.status_code == 404
    assert not Rating.objects.exists()


def test_anonymous_users_are_sent_to_log_in_and_nothing_is_written(client, movies):
    response = client.post(reverse("movies:rate", args=[movies["Heat"].pk]), {"value": "4"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Rating.objects.exists()


def test_rating_pages_refuse_get(bob, movies):
    assert _logged_in(bob).get(reverse("movies:rate", args=[movies["Heat"].pk])).status_code == 405


def test_rating_again_changes_only_the_users_own_rating(alice_ratings, carol, movies):
    heat = movies["Heat"]
    _logged_in(carol).post(reverse("movies:rate", args=[heat.pk]), {"value": "1", "user": "alice"}, **HTMX)
    assert Rating.objects.get(pk=alice_ratings["Heat"].pk).value == 3.0
    assert Rating.objects.get(user=carol, movie=heat).value == 1.0


def test_removing_a_rating_only_removes_the_users_own(alice_ratings, carol, movies):
    heat = movies["Heat"]
    response = _logged_in(carol).post(reverse("movies:rating_delete", args=[heat.pk]), **HTMX)
    assert response.status_code == 200
    assert Rating.objects.filter(pk=alice_ratings["Heat"].pk).exists()
    assert Movie.objects.get(pk=heat.pk).ratings_count == 1


def test_removing_a_rating_updates_the_counts_and_the_widget(alice, alice_ratings, movies):
    heat = movies["Heat"]
    response = _logged_in(alice).post(reverse("movies:rating_delete", args=[heat.pk]), **HTMX)
    assert response.status_code == 200
    assert b"Not rated yet" in response.content
    assert not Rating.objects.filter(user=alice, movie=heat).exists()
    assert (Movie.objects.get(pk=heat.pk).ratings_count, Movie.objects.get(pk=heat.pk).ratings_mean) == (0, None)


def test_a_rating_post_from_the_home_page_returns_refreshed_picks_out_of_band(bob, movies):
    client = _logged_in(bob)
    for title in ["Toy Story", "Jumanji", "Heat", "The Matrix"]:
        client.post(reverse("movies:rate", args=[movies[title].pk]), {"value": "4", "refresh": "picks"}, **HTMX)
    Movie.objects.create(id=50, title="Unseen", ratings_count=1000, ratings_mean=4.0)
    response = client.post(
        reverse("movies:rate", args=[movies["Amélie"].pk]), {"value": "5", "refresh": "picks"}, **HTMX
    )
    html = response.content.decode()
    assert 'id="picks" class="picks" hx-swap-oob="true"' in html
    picks = [p.movie.title for p in response.context["picks"]]
    assert "Unseen" in picks
    assert not set(picks) & {"Toy Story", "Jumanji", "Heat", "The Matrix", "Amélie"}


def test_not_interested_is_saved_and_can_be_undone(bob, movies):
    client = _logged_in(bob)
    heat = movies["Heat"]
    response = client.post(reverse("movies:dismiss", args=[heat.pk]), **HTMX)
    assert response.status_code == 200
    assert b"Undo" in response.content
    assert Dismissal.objects.filter(user=bob, movie=heat).exists()
    response = client.post(reverse("movies:undismiss", args=[heat.pk]), {"next": "/movies/"})
    assert response.status_code == 302 and response.url == "/movies/"
    assert not Dismissal.objects.exists()


def test_a_dismissed_movie_never_shows_in_the_users_picks(bob, movies):
    client = _logged_in(bob)
    for title in ["Toy Story", "Jumanji", "Heat", "The Matrix", "Amélie"]:
        client.post(reverse("movies:rate", args=[movies[title].pk]), {"value": "4"})
    for i in range(6):
        Movie.objects.create(id=60 + i, title=f"Popular {i}", ratings_count=1000 - i, ratings_mean=4.0)
    client.post(reverse("movies:dismiss", args=[60]))
    picks = [p.movie.pk for p in client.get(reverse("home")).context["picks"]]
    assert picks[:2] == [61, 62]
    assert 60 not in picks


def test_a_user_cannot_undo_someone_elses_not_interested(alice, carol, movies):
    Dismissal.objects.create(user=alice, movie=movies["Heat"])
    _logged_in(carol).post(reverse("movies:undismiss", args=[movies["Heat"].pk]), **HTMX)
    assert Dismissal.objects.filter(user=alice).exists()


class TestCsrf:
    """Every write refuses a POST without the CSRF token, and takes it with one."""

    @pytest.mark.parametrize("name", ["movies:rate", "movies:rating_delete", "movies:dismiss", "movies:undismiss"])
    def test_a_post_without_the_token_is_403(self, alice, movies, name):
        client = Client(enforce_csrf_checks=True)
        client.force_login(alice)
        response = client.post(reverse(name, args=[movies["Heat"].pk]), {"value": "4"}, **HTMX)
        assert response.status_code == 403
        assert not Rating.objects.exists() and not Dismissal.objects.exists()

    def test_a_post_with_the_token_from_the_page_is_accepted(self, alice, movies):
        client = Client(enforce_csrf_checks=True)
        assert client.login(username="alice", password=PASSWORD)
        page = client.get(reverse("movies:detail", args=[movies["Heat"].pk]))
        token = page.cookies["csrftoken"].value
        assert b"csrfmiddlewaretoken" in page.content
        response = client.post(
            reverse("movies:rate", args=[movies["Heat"].pk]), {"value": "4", "csrfmiddlewaretoken": token}, **HTMX
        )
        assert response.status_code == 200
        assert Rating.objects.get(user=alice).value == 4.0


def test_a_rating_post_that_refreshes_picks_runs_a_bounded_number_of_queries(
    bob, movies, django_assert_max_num_queries
):
    client = _logged_in(bob)
    for title in ["Toy Story", "Jumanji", "Heat", "The Matrix"]:
        client.post(reverse("movies:rate", args=[movies[title].pk]), {"value": "4"})
    with django_assert_max_num_queries(15):  # 14, and the active version if a second has passed
        response = client.post(
            reverse("movies:rate", args=[movies["Amélie"].pk]), {"value": "5", "refresh": "picks"}, **HTMX
        )
    assert response.status_code == 200


def test_an_htmx_post_after_the_session_expired_sends_the_browser_to_log_in(client, movies):
    response = client.post(
        reverse("movies:rate", args=[movies["Heat"].pk]),
        {"value": "4"},
        HTTP_HX_CURRENT_URL="http://testserver/movies/3/",
        **HTMX,
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("login") + "?next=%2Fmovies%2F3%2F"
    assert not Rating.objects.exists()


class TestPicksRefresh:
    """After a change to a user's ratings the view tells the recommender at once (an explicit call, no signal)."""

    @pytest.fixture
    def refreshed(self, monkeypatch) -> list[int]:
        calls: list[int] = []
        monkeypatch.setattr("recommender.services.picks.user_picks_refresh", lambda *, user_id: calls.append(user_id))
        return calls

    def test_rating_refreshes_the_users_picks(self, bob, movies, refreshed):
        _logged_in(bob).post(reverse("movies:rate", args=[movies["Heat"].pk]), {"value": "4"}, **HTMX)
        assert refreshed == [bob.pk]

    def test_removing_a_rating_refreshes_the_users_picks(self, alice, alice_ratings, movies, refreshed):
        _logged_in(alice).post(reverse("movies:rating_delete", args=[movies["Heat"].pk]))
        assert refreshed == [alice.pk]

    def test_an_invalid_rating_or_nothing_to_remove_refreshes_nothing(self, bob, movies, refreshed):
        client = _logged_in(bob)
        client.post(reverse("movies:rate", args=[movies["Heat"].pk]), {"value": "9"}, **HTMX)
        client.post(reverse("movies:rating_delete", args=[movies["Heat"].pk]), **HTMX)
        assert refreshed == []

    def test_a_failing_refresh_still_answers_with_the_saved_rating(self, bob, movies, monkeypatch, caplog):
        def broken(*, user_id: int) -> None:
            raise ConnectionError("recommender away")

        monkeypatch.setattr("recommender.services.picks.user_picks_refresh", broken)
        response = _logged_in(bob).post(reverse("movies:rate", args=[movies["Heat"].pk]), {"value": "4"}, **HTMX)
        assert response.status_code == 200
        assert Rating.objects.get(user=bob).value == 4.0
        assert "refreshing the picks" in caplog.text
