"""The pages of a logged-in user: the personal home (onboarding, picks, genre rows) and My ratings."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from movies.models import Dismissal, Genre, Movie, Rating

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _assert_rendered(response, template: str) -> None:
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]


@pytest.fixture
def well_known(genres) -> list[Movie]:
    """Forty much-rated movies over four genres, a few in two of them."""
    names = ["Animation", "Comedy", "Drama", "Sci-Fi"]
    found = []
    for i in range(40):
        movie = Movie.objects.create(
            id=200 + i, title=f"Known {i:02d}", year=1980 + i, ratings_count=1000 - i, ratings_mean=3 + (i % 5) / 2
        )
        movie.genres.set([genres[names[i % 4]]] + ([genres["Drama"]] if i % 7 == 0 else []))
        found.append(movie)
    return found


def test_a_new_user_is_asked_to_rate_well_known_movies_from_several_genres(
    bob, well_known, django_assert_max_num_queries
):
    client = _logged_in(bob)
    with django_assert_max_num_queries(6):  # 6 with the movies the user skipped as not seen
        response = client.get(reverse("home"))
    _assert_rendered(response, "movies/_home_personal.html")
    groups = response.context["onboarding_groups"]
    assert [g.genre.name for g in groups] == ["Comedy", "Drama", "Animation", "Sci-Fi"]
    ids = [m.pk for g in groups for m in g.movies]
    assert len(ids) == len(set(ids)), "a movie appears in one group only"
    assert all(len(g.movies) == 6 for g in groups)
    assert groups[0].movies[0].ratings_count >= groups[0].movies[-1].ratings_count
    html = response.content.decode()
    assert 'name="refresh" value="picks"' in html
    assert "Rate 5 more movies" in html


def test_after_a_handful_of_ratings_the_user_sees_picks_and_favourite_genres(
    bob, well_known, django_assert_max_num_queries
):
    client = _logged_in(bob)
    for movie in well_known[:8:2]:  # liked: two Animation, three Drama (Known 00 is both)
        client.post(reverse("movies:rate", args=[movie.pk]), {"value": "4.5"})
    client.post(reverse("movies:rate", args=[well_known[1].pk]), {"value": "2"})
    # 12 on a first view (the cached one costs 2), one of them the active version, read once a second;
    # the "Because you liked" rows read the user's longer list (2), the genre rows their ratings (2).
    with django_assert_max_num_queries(13):
        response = client.get(reverse("home"))
    assert "onboarding_groups" not in response.context
    picks = response.context["picks"]
    assert len(picks) == 20
    rated = set(Rating.objects.filter(user=bob).values_list("movie_id", flat=True))
    assert not {p.movie.pk for p in picks} & rated
    rows = response.context["genre_rows"]
    assert [genre.name for genre, _movies in rows][:2] == ["Drama", "Animation"]
    for genre, cards in rows:
        assert all(genre in Movie.objects.get(pk=pk).genres.all() and pk not in rated for pk, _card in cards)
    assert b"Top picks for you" in response.content


def test_my_ratings_needs_a_login(client, db):
    response = client.get(reverse("movies:my_ratings"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_my_ratings_lists_only_the_users_own_ratings_paged_in_bounded_queries(
    alice, carol, well_known, django_assert_max_num_queries
):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i, movie in enumerate(well_known):
        Rating.objects.create(user=alice, movie=movie, value=(i % 10 + 1) / 2, rated_at=start + timedelta(days=i))
    Rating.objects.create(user=carol, movie=well_known[0], value=1.0, rated_at=start)
    Dismissal.objects.create(user=alice, movie=Movie.objects.create(id=999, title="Dull"))
    client = _logged_in(alice)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("movies:my_ratings"))
    _assert_rendered(response, "movies/rating_list.html")
    page = response.context["page"]
    assert page.paginator.count == 40
    assert [r.movie.title for r in page][:2] == ["Known 39", "Known 38"]  # newest first
    assert {r.user_id for r in page} == {alice.pk}
    html = response.content.decode()
    assert "Not interested" in html and "Dull" in html
    assert html.count('class="rating-row"') == 40


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("oldest", "Known 00"),
        ("title", "Known 00"),
        ("highest", "Known 39"),
        ("lowest", "Known 30"),
        ("bad", "Known 39"),
    ],
)
def test_my_ratings_sorts_by_date_value_or_title(alice, well_known, sort, first):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i, movie in enumerate(well_known):
        Rating.objects.create(user=alice, movie=movie, value=(i % 10 + 1) / 2, rated_at=start + timedelta(days=i))
    response = _logged_in(alice).get(reverse("movies:my_ratings"), {"sort": sort})
    assert response.context["page"].object_list[0].movie.title == first


def test_my_ratings_pages_past_fifty(alice, genres):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(55):
        movie = Movie.objects.create(id=500 + i, title=f"M{i:02d}")
        Rating.objects.create(user=alice, movie=movie, value=3.0, rated_at=start + timedelta(hours=i))
    response = _logged_in(alice).get(reverse("movies:my_ratings"), {"sort": "title", "page": 2})
    assert [r.movie.title for r in response.context["page"]] == [f"M{i}" for i in range(50, 55)]
    assert b"sort=title&amp;page=1" in response.content


def test_the_movie_page_shows_the_users_rating_and_not_interested(alice, alice_ratings, movies):
    Dismissal.objects.create(user=alice, movie=movies["Heat"])
    response = _logged_in(alice).get(reverse("movies:detail", args=[movies["Heat"].pk]))
    html = response.content.decode()
    assert 'value="3.0" id="rate-3-6" checked' in html
    assert "Remove rating" in html
    assert "hidden from your picks" in html


def test_the_browse_page_marks_the_users_ratings_and_dismissals(alice, alice_ratings, movies):
    Dismissal.objects.create(user=alice, movie=movies["Jumanji"])
    response = _logged_in(alice).get(reverse("movies:list"), {"sort": "title"})
    html = response.content.decode()
    assert 'data-movie="1" data-mine="4.5"' in html  # Toy Story's stars on its card
    assert '<span class="badge">Not interested</span>' in html
    assert Genre.objects.count() == 4


def test_pick_cards_never_show_the_rating_just_posted_as_the_users_own(bob, movies):
    client = Client()
    client.force_login(bob)
    for title in ["Toy Story", "Jumanji", "Heat", "The Matrix"]:
        client.post(reverse("movies:rate", args=[movies[title].pk]), {"value": "4"})
    Movie.objects.create(id=70, title="Unseen", ratings_count=1000, ratings_mean=4.0)
    response = client.post(
        reverse("movies:rate", args=[movies["Amélie"].pk]), {"value": "5", "refresh": "picks"}, HTTP_HX_REQUEST="true"
    )
    picks_html = response.content.decode().split('id="picks"', 1)[1]
    assert "Unseen" in picks_html
    assert "data-mine" not in picks_html


def test_browse_shows_the_minimum_number_of_ratings_that_applies(client, movies):
    response = client.get(reverse("movies:list"), {"q": "toy"})
    assert response.context["form"]["min_ratings"].value() == "50"
