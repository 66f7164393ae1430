"""The pick-groups step on the home page: a new user marks groups, sends once, and sees personal picks.

The two-tastes world's version, with its two clusters (the "A" movies and the "B" ones) made from the
movies' rating counts. The home page is served from the section cache, as in production.
"""

import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.own_data import account_counts, ratings_csv
from movies.models import GroupChoice, Movie, Rating
from movies.totals import movie_totals_recount
from recommender.services import explore
from recommender.services.explore import explore_refresh
from recommender.services.pick_groups import pick_groups_offered
from tests.catalogue import user_create
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_redis_lists(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RECOMMENDER_LISTS_URL = ""
    cache.clear()
    yield
    cache.clear()
    explore.forget()


@pytest.fixture
def world(trained_run):
    two_tastes_world()
    movie_totals_recount()
    return explore_refresh(version=install(trained_run))


@pytest.fixture
def newcomer(world) -> User:
    return user_create("newcomer")


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _labels() -> tuple[int, dict[str, int]]:
    """The version, and the label of the A group and of the B group."""
    version_id, groups = pick_groups_offered()
    return version_id, {("A" if g.movie_ids[0] <= 20 else "B"): g.label for g in groups}


def _choice(like: str, reject: str) -> dict[str, str]:
    version_id, labels = _labels()
    return {"version": str(version_id), f"group-{labels[like]}": "like", f"group-{labels[reject]}": "dislike"}


def _picks(html: str) -> list[int]:
    section = re.search(r'<section id="picks".*?</section>', html, re.S)
    assert section is not None, "no picks section"
    return [int(m) for m in re.findall(r'class="title" href="/movies/(\d+)/"', section.group(0))]


def test_a_new_user_is_offered_the_groups_before_any_picks(newcomer):
    page = _logged_in(newcomer).get(reverse("home")).content.decode()
    assert 'id="pick-groups"' in page
    _, labels = _labels()
    for label in labels.values():
        assert f'name="group-{label}" value="like"' in page and f'name="group-{label}" value="dislike"' in page
    assert _picks(page) == []  # nothing known of them yet: the picks wait for a choice or ratings
    assert "Rate movies you have seen" in page  # the rate-these groups are still there, below


def test_opposite_choices_sent_with_htmx_give_opposite_picks_at_once(world):
    likes_a, likes_b = user_create("likes-a"), user_create("likes-b")
    picks = {}
    for user, like, reject in ((likes_a, "A", "B"), (likes_b, "B", "A")):
        client = _logged_in(user)
        client.get(reverse("home"))  # the section cache now holds the page before the choice
        partial = client.post(reverse("movies:pick_groups"), _choice(like, reject), **HTMX)
        assert partial.status_code == 200
        html = partial.content.decode()
        assert 'id="pick-groups"' in html and 'hx-swap-oob="true"' in html
        assert "Saved: 1 group you like, 1 not for you." in html
        picks[like] = _picks(html)
        assert _picks(client.get(reverse("home")).content.decode()) == picks[like]  # no stale section
    assert sum(m <= 20 for m in picks["A"][:5]) >= 4, picks
    assert sum(m > 20 for m in picks["B"][:5]) >= 4, picks


def test_without_javascript_the_form_posts_and_the_home_page_shows_the_picks(newcomer):
    client = _logged_in(newcomer)
    response = client.post(reverse("movies:pick_groups"), {**_choice("B", "A"), "next": "/"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    page = response.content.decode()
    assert "Saved: 1 group you like, 1 not for you." in page
    assert "These follow the groups you picked." in page
    assert sum(m > 20 for m in _picks(page)[:5]) >= 4
    assert "Change your groups" in page  # the groups fold away under the choice


def test_the_choice_is_no_rating_the_download_and_the_counts_stay_the_same(newcomer):
    from movies import services

    services.rating_create_or_update(user=newcomer, movie_id=3, value=4.0)
    before_csv = "".join(ratings_csv(user=newcomer))
    before_totals = list(Movie.objects.order_by("pk").values_list("pk", "ratings_count", "ratings_sum"))
    before_counts = account_counts(user=newcomer)

    client = _logged_in(newcomer)
    client.post(reverse("movies:pick_groups"), _choice("A", "B"), **HTMX)

    assert GroupChoice.objects.filter(user=newcomer).count() == 20  # ten movies stand for each group
    assert Rating.objects.filter(user=newcomer).count() == 1
    assert "".join(ratings_csv(user=newcomer)) == before_csv
    assert client.get(reverse("ratings_download")).getvalue().decode() == before_csv
    assert list(Movie.objects.order_by("pk").values_list("pk", "ratings_count", "ratings_sum")) == before_totals
    after = account_counts(user=newcomer)
    assert after.ratings == before_counts.ratings == 1 and after.groups == 2


def test_a_form_from_another_version_stores_nothing(newcomer):
    client = _logged_in(newcomer)
    stale = {**_choice("A", "B"), "version": "999999"}
    html = client.post(reverse("movies:pick_groups"), stale, **HTMX).content.decode()
    assert "The groups have changed" in html
    assert not GroupChoice.objects.filter(user=newcomer).exists()


def test_sending_no_mark_takes_the_choice_back(newcomer):
    client = _logged_in(newcomer)
    client.post(reverse("movies:pick_groups"), _choice("A", "B"), **HTMX)
    version_id, _ = _labels()
    html = client.post(reverse("movies:pick_groups"), {"version": str(version_id)}, **HTMX).content.decode()
    assert "No group chosen" in html
    assert not GroupChoice.objects.filter(user=newcomer).exists()
    assert _picks(client.get(reverse("home")).content.decode()) == []


def test_an_anonymous_post_goes_to_the_login_page(world):
    response = Client().post(reverse("movies:pick_groups"), {"version": "1"})
    assert response.status_code == 302 and "/login" in response["Location"]
