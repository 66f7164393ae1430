"""The home and movie pages are served from cached sections; a change by the user shows at once.

A trained model (tests.worlds.two_tastes_world) and the in-process cache of the test settings:
every test first fills the cache with a page view, then changes something and looks again.
"""

import re
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from movies.catalogue_generation import catalogue_generation_key
from movies.models import Movie, Rating
from movies.services import rating_create_or_update
from movies.views import catalogue as catalogue_views
from recommender.services.sections import CSRF_PLACEHOLDER
from recommender.services.user_generation import (
    KEEP_SECONDS,
    spread_lifetime,
    user_generation,
    user_generation_bump,
)
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
    # The movie's row and the user's marks come with the cached parts: at most the active version's
    # check, once a second, reads the database.
    with django_assert_max_num_queries(1):
        page = client.get(reverse("movies:detail", args=[movie_id])).content.decode()
    assert "Similar movies" in page and "We think you would give it" in page and "Not rated yet" in page
    client.post(reverse("movies:rate", args=[movie_id]), {"value": "2.5"})
    page = client.get(reverse("movies:detail", args=[movie_id])).content.decode()
    assert "Your rating: <strong>" in page and "1 rating" in page


def test_the_movie_page_shows_a_dismissal_and_a_save_at_the_next_view(fans):
    client = _logged_in(fans[0])
    rated = set(Rating.objects.filter(user=fans[0]).values_list("movie_id", flat=True))
    movie_id = min(set(range(1, 41)) - rated)
    url = reverse("movies:detail", args=[movie_id])
    page = client.get(url).content.decode()
    assert (
        reverse("movies:dismiss", args=[movie_id]) in page and reverse("movies:watchlist_add", args=[movie_id]) in page
    )
    client.post(reverse("movies:dismiss", args=[movie_id]))
    client.post(reverse("movies:watchlist_add", args=[movie_id]))
    page = client.get(url).content.decode()
    assert reverse("movies:undismiss", args=[movie_id]) in page
    assert reverse("movies:watchlist_remove", args=[movie_id]) in page


def test_a_movie_edited_in_admin_shows_its_new_title_at_the_next_view(fans):
    client = _logged_in(fans[0])
    url = reverse("movies:detail", args=[3])
    client.get(url)  # its row is now kept
    movie = Movie.objects.get(pk=3)
    movie.title = "A Title Edited Since"
    movie.save()
    assert "A Title Edited Since" in client.get(url).content.decode()


def _histogram(page: str) -> dict[str, int]:
    """The movie page's histogram as star label -> count, read from the HTML."""
    figure = re.search(r'<figure class="histogram".*?</figure>', page, re.S)
    if figure is None:
        return {}
    return {label: int(n) for label, n in re.findall(r'<span class="sr-only">([^<]+): (\d+)</span>', figure.group(0))}


def test_a_rating_changes_the_movie_pages_histogram_at_once_for_everybody(fans):
    viewer, rater = _logged_in(fans[0]), _logged_in(fans[1])
    rated = set(Rating.objects.filter(user=fans[1]).values_list("movie_id", flat=True))
    movie_id = min(set(range(1, 41)) - rated)
    url = reverse("movies:detail", args=[movie_id])
    before = _histogram(viewer.get(url).content.decode())  # now cached
    rater.post(reverse("movies:rate", args=[movie_id]), {"value": "0.5"})
    after = _histogram(viewer.get(url).content.decode())
    assert after["0.5 stars"] == before.get("0.5 stars", 0) + 1
    rater.post(reverse("movies:rate", args=[movie_id]), {"value": "5"})  # a changed rating moves its bar
    changed = _histogram(viewer.get(url).content.decode())
    assert changed["0.5 stars"] == before.get("0.5 stars", 0) and changed["5 stars"] == before.get("5 stars", 0) + 1
    rater.post(reverse("movies:rating_delete", args=[movie_id]))
    assert _histogram(viewer.get(url).content.decode()) == before


def test_the_movie_page_reads_the_users_stars_of_its_similar_movies_with_the_movie(fans, django_assert_max_num_queries):
    client = _logged_in(fans[0])
    movie_id = 1
    page = client.get(reverse("movies:detail", args=[movie_id])).content.decode()
    similar = [int(m) for m in re.findall(r'data-movie="(\d+)"', page.split("Similar movies", 1)[1])]
    assert similar
    Rating.objects.filter(user=fans[0], movie_id=similar[0]).delete()
    client.post(reverse("movies:rate", args=[similar[0]]), {"value": "3.5"})
    # The session's user and the movie with everything of the user's; the active version once a second.
    with django_assert_max_num_queries(3):
        page = client.get(reverse("movies:detail", args=[movie_id])).content.decode()
    stars = re.search(r'<script id="my-stars" type="application/json">(.*?)</script>', page).group(1)
    assert f'"{similar[0]}": 3.5' in stars
    assert re.search(r"<title>[^<]*</title>", page), "the title holds text only"


def test_a_stale_home_section_is_served_while_a_worker_renders_it_again(fans, mocker):
    from movies.tasks import home_section_refresh
    from recommender import cache_keys

    send = mocker.patch("recommender.dispatch.current_app.send_task")
    client = _logged_in(fans[0])
    first = client.get(reverse("home")).content.decode()
    key = cache_keys.personal_section("home", fans[0].pk)
    stamp, *_ = cache.get(key)
    cache.set(key, (stamp, "<p>an older render</p>", 0), 600)  # past its fresh lifetime, not yet expired
    assert "<p>an older render</p>" in client.get(reverse("home")).content.decode()
    assert "<p>an older render</p>" in client.get(reverse("home")).content.decode()
    send.assert_called_once_with("movies.home_section_refresh", args=[fans[0].pk], retry=False, ignore_result=True)
    home_section_refresh(fans[0].pk)  # what the worker runs
    assert _without_tokens(client.get(reverse("home")).content.decode()) == _without_tokens(first)


def test_a_stale_home_section_is_never_served_after_the_users_own_change(fans, mocker):
    from recommender import cache_keys

    mocker.patch("recommender.dispatch.current_app.send_task")
    client = _logged_in(fans[0])
    picked = _picks(client.get(reverse("home")))
    key = cache_keys.personal_section("home", fans[0].pk)
    stamp, html, *_ = cache.get(key)
    cache.set(key, (stamp, html, 0), 600)
    client.post(reverse("movies:rate", args=[picked[0]]), {"value": "4"})
    assert picked[0] not in _picks(client.get(reverse("home")))


def test_stale_shared_parts_of_a_movie_page_are_served_while_a_worker_renders_them_again(fans, mocker):
    from movies.tasks import movie_section_refresh
    from recommender import cache_keys
    from recommender.services.factors_cache import active_version_id

    send = mocker.patch("recommender.dispatch.current_app.send_task")
    client = _logged_in(fans[0])
    url = reverse("movies:detail", args=[1])
    first = client.get(url).content.decode()
    key = cache_keys.movie_section(1, active_version_id())
    parts, _fresh_until, _catalogue, _built_at = cache.get(key)
    cache.set(key, ({**parts, "tags": "<p>older tags</p>"}, 0, None, 0), 600)
    assert "<p>older tags</p>" in client.get(url).content.decode()
    send.assert_called_once_with("movies.movie_section_refresh", args=[1], retry=False, ignore_result=True)
    movie_section_refresh(1)
    assert _without_tokens(client.get(url).content.decode()) == _without_tokens(first)


def _stale_home_section(user, html: str, *, age: float = 0) -> None:
    """The user's cached home section made stale, holding `html`, built `age` seconds earlier than it was."""
    from recommender import cache_keys

    key = cache_keys.personal_section("home", user.pk)
    stamp, _html, _fresh_until, catalogue, built_at = cache.get(key)
    cache.set(key, (stamp, html.encode(), 0, catalogue, built_at - age), 600)


def test_a_worker_keeps_a_stale_home_section_while_no_movie_changed(fans, mocker):
    """Rendering again would give the same page: the refresh makes the entry fresh without a render."""
    from movies.tasks import home_section_refresh

    mocker.patch("recommender.dispatch.current_app.send_task")
    render = mocker.spy(catalogue_views, "_home_section_render")
    client = _logged_in(fans[0])
    cache.delete(catalogue_generation_key())  # as in an emptied cache: the first render starts a number
    client.get(reverse("home"))
    _stale_home_section(fans[0], "<p>as rendered</p>")
    home_section_refresh(fans[0].pk)
    assert render.call_count == 1  # the first view's
    page = client.get(reverse("home")).content.decode()
    assert "<p>as rendered</p>" in page
    assert render.call_count == 1, "a fresh entry again: no second refresh asked for, nothing rendered"


def test_a_worker_renders_a_stale_home_section_again_after_another_persons_rating(fans, mocker):
    from movies.tasks import home_section_refresh

    mocker.patch("recommender.dispatch.current_app.send_task")
    client = _logged_in(fans[0])
    picked = _picks(client.get(reverse("home")))
    _stale_home_section(fans[0], "<p>as rendered</p>")
    rating_create_or_update(user=fans[1], movie_id=picked[0], value=0.5)  # the pick's card shows its average
    home_section_refresh(fans[0].pk)
    page = client.get(reverse("home")).content.decode()
    assert "<p>as rendered</p>" not in page and _picks_in(page)


def test_a_worker_renders_a_home_section_kept_too_long_again(fans, mocker):
    """The generation cannot see rows written past the site's code: an entry is kept an hour at most."""
    from movies.tasks import home_section_refresh

    mocker.patch("recommender.dispatch.current_app.send_task")
    client = _logged_in(fans[0])
    client.get(reverse("home"))
    _stale_home_section(fans[0], "<p>as rendered</p>", age=KEEP_SECONDS)
    home_section_refresh(fans[0].pk)
    assert "<p>as rendered</p>" not in client.get(reverse("home")).content.decode()


def test_a_worker_keeps_stale_shared_parts_of_a_movie_page_until_a_movie_changes(fans, mocker):
    from movies.tasks import movie_section_refresh
    from recommender import cache_keys
    from recommender.services.factors_cache import active_version_id

    mocker.patch("recommender.dispatch.current_app.send_task")
    client = _logged_in(fans[0])
    url = reverse("movies:detail", args=[1])
    client.get(url)
    key = cache_keys.movie_section(1, active_version_id())

    def stale_with_older_tags() -> None:
        parts, _fresh_until, catalogue, built_at = cache.get(key)
        cache.set(key, ({**parts, "tags": "<p>older tags</p>"}, 0, catalogue, built_at), 600)

    stale_with_older_tags()
    movie_section_refresh(1)
    assert "<p>older tags</p>" in client.get(url).content.decode()
    assert cache.get(key)[1] > time.time(), "fresh again"
    stale_with_older_tags()
    other = Movie.objects.get(pk=2)
    other.title = "A movie renamed"
    other.save()  # as an edit in admin does
    movie_section_refresh(1)
    assert "<p>older tags</p>" not in client.get(url).content.decode()


def test_cards_kept_rendered_for_everybody_carry_each_sessions_own_token(fans):
    """The pick cards' stars and buttons are rendered once per process with a placeholder for the token:
    each person's page, and the picks a rating refills, carry their own session's token."""
    for user in fans[:2]:
        client = _logged_in(user, enforce_csrf_checks=True)
        client.get(reverse("home"))
        page = client.get(reverse("home")).content.decode()
        picks = re.search(r'<section id="picks".*?</section>', page, re.S).group(0)
        tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', picks))
        assert tokens and CSRF_PLACEHOLDER not in page
        picked = _picks_in(page)
        response = client.post(
            reverse("movies:rate", args=[picked[0]]),
            {"csrfmiddlewaretoken": tokens.pop(), "value": "2", "refresh": "picks"},
            **HTMX,
        )
        assert response.status_code == 200
        partial = response.content.decode()
        assert CSRF_PLACEHOLDER not in partial and 'name="csrfmiddlewaretoken"' in partial
