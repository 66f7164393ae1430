"""The home and movie pages are served from cached sections; a change by the user shows at once.

A trained model (tests.worlds.two_tastes_world) and the in-process cache of the test settings:
every test first fills the cache with a page view, then changes something and looks again.
"""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from movies.models import Movie, Rating
from recommender.services.sections import CSRF_PLACEHOLDER
from recommender.services.user_generation import spread_lifetime, user_generation, user_generation_bump
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_redis_lists(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RECOMMENDER_LISTS_URL = ""  # lists computed from the factors: only the page cache is under test
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fans(trained_run):
    users = two_tastes_world()
    install(trained_run)
    return users


def _logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _picks(response) -> list[int]:
    """Movie ids in the "Top picks for you" section, in order, read from the HTML."""
    return [int(m) for m in _picks_in(response.content.decode())]


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_a_second_home_page_view_is_served_from_the_cache_in_two_queries(fans, django_assert_max_num_queries):
    client = _logged_in(fans[0])
    first = client.get(reverse("home"))
    with django_assert_max_num_queries(2):  # the session's user, and the active version (once a second)
        second = client.get(reverse("home"))
    assert _picks(first) and _picks(second) == _picks(first)
    assert _without_tokens(second.content.decode()) == _without_tokens(first.content.decode())


def test_rating_a_pick_takes_it_off_the_home_page_at_once(fans):
    client = _logged_in(fans[0])
    picked = _picks(client.get(reverse("home")))
    client.post(reverse("movies:rate", args=[picked[0]]), {"value": "4"})
    assert picked[0] not in _picks(client.get(reverse("home")))


def test_dismissing_a_pick_takes_it_off_the_home_page_at_once(fans):
    client = _logged_in(fans[0])
    picked = _picks(client.get(reverse("home")))
    client.post(reverse("movies:dismiss", args=[picked[0]]), **HTMX)
    assert picked[0] not in _picks(client.get(reverse("home")))
    client.post(reverse("movies:undismiss", args=[picked[0]]), **HTMX)
    assert picked[0] in _picks(client.get(reverse("home")))


def test_deleting_a_rating_shows_at_once(fans):
    """Five ratings give picks; removing one brings back the onboarding progress."""
    newcomer = fans[0].__class__.objects.create(username="newcomer")
    client = _logged_in(newcomer)
    for movie_id in (1, 2, 3, 4, 5):
        client.post(reverse("movies:rate", args=[movie_id]), {"value": "5"})
    assert _picks(client.get(reverse("home")))
    client.post(reverse("movies:rating_delete", args=[5]))
    page = client.get(reverse("home")).content.decode()
    assert "Rate 1 more movie" in page
    assert not _picks_in(page)


def _picks_in(html: str) -> list[str]:
    section = re.search(r'<section id="picks".*?</section>', html, re.S)
    assert section is not None, "no picks section in the page"
    return re.findall(r'class="title" href="/movies/(\d+)/"', section.group(0))


def test_a_rating_through_the_htmx_widget_updates_the_picks_and_the_next_home_page(fans):
    client = _logged_in(fans[0])
    picked = _picks(client.get(reverse("home")))
    partial = client.post(reverse("movies:rate", args=[picked[0]]), {"value": "1", "refresh": "picks"}, **HTMX)
    assert partial.status_code == 200
    oob = re.findall(r'class="title" href="/movies/(\d+)/"', partial.content.decode().split('id="picks"', 1)[1])
    assert oob and str(picked[0]) not in oob
    assert [str(m) for m in _picks(client.get(reverse("home")))] == oob


def test_activating_another_version_changes_the_home_page_at_once(fans, other_trained_run):
    client = _logged_in(fans[0])
    before = client.get(reverse("home")).content.decode()
    second = install(other_trained_run)  # another model; building its lists activates it
    after = client.get(reverse("home")).content.decode()
    cache.clear()
    fresh = client.get(reverse("home")).content.decode()
    assert second.is_active
    assert _without_tokens(after) == _without_tokens(fresh)  # what a first render of v2 shows
    assert _without_tokens(after) != _without_tokens(before)  # v2's stars differ from v1's


def test_the_cached_home_page_carries_this_sessions_csrf_token(fans):
    client = _logged_in(fans[0], enforce_csrf_checks=True)
    client.get(reverse("home"))
    page = client.get(reverse("home")).content.decode()  # from the cache
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    picked = _picks_in(page)[0]
    response = client.post(reverse("movies:dismiss", args=[picked]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_genre_rows_leave_out_what_the_user_rated_since_the_last_view(fans, django_assert_max_num_queries):
    client = _logged_in(fans[0])
    Movie.objects.filter(pk__lte=40).update(ratings_count=100, ratings_mean=4.0)
    rows = client.get(reverse("home")).context["genre_rows"]
    shown = [pk for _genre, cards in rows for pk, _card in cards]
    assert shown
    client.post(reverse("movies:rate", args=[shown[0]]), {"value": "3"})
    rows = client.get(reverse("home")).context["genre_rows"]
    assert shown[0] not in [pk for _genre, cards in rows for pk, _card in cards]
    assert not set(Rating.objects.filter(user=fans[0]).values_list("movie_id", flat=True)) & {
        pk for _genre, cards in rows for pk, _card in cards
    }


def test_genre_rows_show_each_movie_as_a_card_rendered_once_for_everybody(fans):
    Movie.objects.filter(pk__lte=40).update(ratings_count=100, ratings_mean=4.0)
    first = _logged_in(fans[0]).get(reverse("home"))
    cards = {pk: card for _genre, row in first.context["genre_rows"] for pk, card in row}
    assert cards
    html = first.content.decode()
    for pk, card in cards.items():  # each genre row movie's card: its link, title and average
        movie = Movie.objects.get(pk=pk)
        assert f'href="{movie.get_absolute_url()}">{movie.title}</a>' in card
        assert "★ 4" in card and all(part in html for part in card.split(CSRF_PLACEHOLDER))  # the token filled in
        # Nothing of one user: no stars of theirs, no "not interested", a placeholder for the session's token.
        assert CSRF_PLACEHOLDER in card and "data-mine" not in card and "Not interested" not in card
    # Another user's home page reuses the cached cards of a genre both have among their favourites.
    other = _logged_in(fans[1]).get(reverse("home"))
    shared = [(pk, card) for _genre, row in other.context["genre_rows"] for pk, card in row if pk in cards]
    assert all(card == cards[pk] for pk, card in shared)


def test_cached_lifetimes_are_spread_between_half_and_all_of_their_seconds():
    lifetimes = {spread_lifetime(300) for _ in range(2000)}
    assert min(lifetimes) >= 150 and max(lifetimes) <= 300
    assert len(lifetimes) > 100  # drawn, not one value for every entry
    assert spread_lifetime(1) == 1


def test_a_bump_gives_a_new_generation_even_when_the_number_was_lost(db):
    first = user_generation(user_id=12345)
    assert user_generation(user_id=12345) == first
    user_generation_bump(user_id=12345)
    second = user_generation(user_id=12345)
    assert second != first
    cache.clear()  # evicted, or Redis flushed
    assert user_generation(user_id=12345) not in (first, second)


def test_the_movie_page_keeps_its_shared_part_and_reads_the_users_rating_live(fans, django_assert_max_num_queries):
    client = _logged_in(fans[0])
    rated = set(Rating.objects.filter(user=fans[0]).values_list("movie_id", flat=True))
    movie_id = min(set(range(1, 41)) - rated)
    client.get(reverse("movies:detail", args=[movie_id]))
    # The session's user, the movie with the user's rating and dismissal; the active version once a second.
    with django_assert_max_num_queries(3):
        page = client.get(reverse("movies:detail", args=[movie_id])).content.decode()
    assert "Similar movies" in page and "We think you would give it" in page and "Not rated yet" in page
    client.post(reverse("movies:rate", args=[movie_id]), {"value": "2.5"})
    page = client.get(reverse("movies:detail", args=[movie_id])).content.decode()
    assert "Your rating: <strong>" in page and "1 rating" in page
