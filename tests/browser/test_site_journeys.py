"""The site a person expects, in a real browser at desktop and phone width: finding a movie, rating
from any card (mouse and keyboard), onboarding with "haven't seen it", steering the picks, and a
movie page worth reading. One page load per step; screenshots under test-artifacts/browser/."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from movies.models import Genre, Movie, Rating, Skip, Tag, WatchlistEntry
from tests.browser.conftest import log_in, recount_movies
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-passphrase-42"


def _famous_movies() -> None:
    """Three titles as MovieLens stores them, with links, ratings and a tag."""
    drama = Genre.objects.get_or_create(name="Drama")[0]
    users = list(User.objects.filter(username__startswith="fan")[:6]) or [User.objects.create(username="critic")]
    at = datetime(2021, 1, 1, tzinfo=UTC)
    for pk, title, year, imdb, tmdb in [
        (901, "Matrix, The", 1999, "0133093", 603),
        (902, "Godfather, The", 1972, "0068646", 238),
        (903, "Star Wars: Episode IV - A New Hope", 1977, "0076759", 11),
    ]:
        movie = Movie.objects.create(id=pk, title=title, year=year, imdb_id=imdb, tmdb_id=tmdb)
        movie.genres.add(drama)
        for i, user in enumerate(users):
            Rating.objects.create(user=user, movie=movie, value=[5.0, 4.5, 4.0, 4.0, 3.0, 5.0][i % 6], rated_at=at)
    Tag.objects.create(user=users[0], movie_id=902, text="mafia", tagged_at=at)


def test_a_visitor_finds_movies_as_people_write_them_and_reads_a_movie_page(tab, snap, live_server):
    two_tastes_world()
    _famous_movies()
    recount_movies()
    page = tab

    page.goto("/")
    page.fill("#header-q", "godfathr")  # a typo, and no article
    suggestion = page.locator("#header-suggestions a", has_text="The Godfather")
    expect(suggestion).to_be_visible()
    snap("type-ahead")
    suggestion.click()
    page.wait_for_url(re.compile(r"/movies/902/$"))
    expect(page.locator("h1")).to_have_text(re.compile(r"^The Godfather\s*\(1972\)$"))
    expect(page.locator(".histogram .bar")).to_have_count(10)
    expect(page.locator(".average")).to_contain_text("average of 6 ratings")
    expect(page.locator("a", has_text="IMDb")).to_have_attribute("href", "https://www.imdb.com/title/tt0068646/")
    expect(page.locator("a", has_text="TMDb")).to_have_attribute("href", "https://www.themoviedb.org/movie/238")
    snap("movie-page")
    page.click(".tags a:has-text('mafia')")
    page.wait_for_url(re.compile(r"/tags/mafia/$"))
    expect(page.locator(".movie-card .title")).to_have_text(["The Godfather"])
    snap("tag-page")

    for query, first in [("the matrix", "The Matrix"), ("star wars episode iv", "Star Wars: Episode IV - A New Hope")]:
        page.goto(f"/movies/?q={query.replace(' ', '+')}")
        expect(page.locator(".movie-card .title").first).to_have_text(first)
    snap("search")


def test_a_newcomer_skips_a_film_rates_with_the_keyboard_and_picks_refill_in_place(
    tab, snap, settings, trained_run, live_server
):
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    two_tastes_world()
    recount_movies()
    install(trained_run)
    newcomer = User.objects.create_user("newcomer", password=PASSWORD)
    page = tab
    log_in(page, newcomer, live_server.url)

    page.goto("/")
    expect(page.locator(".onboarding")).to_be_visible()
    page.evaluate("window.__noReload = true")
    cards = page.locator(".group .movie-card")
    skipped = cards.filter(has=page.locator("a.title", has_text="A movie")).first
    skipped_title = skipped.locator("a.title").inner_text()
    skipped.get_by_role("button", name=re.compile("Haven't seen")).click()
    expect(page.locator(".group .movie-card a.title", has_text=re.compile(f"^{skipped_title}$"))).to_have_count(0)
    assert Skip.objects.filter(user=newcomer).count() == 1
    snap("skipped")

    a_cards = page.locator(".group .movie-card").filter(has=page.locator("a.title", has_text="A movie"))
    # The keyboard: arrows only preview (right = more stars), Enter saves.
    first = a_cards.nth(0)
    first.locator("input[type=radio]").first.focus()  # the widget's 5 stars (highest first in the page)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    expect(first.locator(".stars")).to_have_attribute("data-preview", "4.5")
    page.wait_for_timeout(400)  # longer than the widget's 250 ms: an arrow must not have saved anything
    assert not Rating.objects.filter(user=newcomer).exists()
    snap("keyboard-preview")
    page.keyboard.press("Enter")
    expect(first.locator(".rating-status")).to_contain_text("4.5")
    assert Rating.objects.get(user=newcomer).value == 4.5

    for i in range(1, 5):  # four more by mouse
        card = a_cards.nth(i)
        card.locator("label.full").first.click()  # 5 stars
        expect(card.locator(".rating-status")).to_contain_text("5")
    expect(page.locator("#picks .movie-card").first).to_be_visible()
    snap("picks")
    picks = page.locator("#picks .movie-card a.title").all_inner_texts()
    assert skipped_title not in picks

    # Rate a pick on its card: it leaves the picks and the list refills in place.
    pick = page.locator("#picks .movie-card").first
    rated_title = pick.locator("a.title").inner_text()
    pick.locator("label.full").nth(2).click()  # 3 stars
    expect(page.locator("#picks .movie-card a.title", has_text=re.compile(f"^{rated_title}$"))).to_have_count(0)
    expect(page.locator("#picks .movie-card")).to_have_count(len(picks))
    assert page.evaluate("window.__noReload") is True
    snap("refilled")


def test_a_member_steers_picks_by_rows_filters_and_a_watchlist(tab, snap, settings, trained_run, live_server):
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    two_tastes_world()
    recount_movies()
    install(trained_run)
    Movie.objects.update(ratings_count=100)  # enough for the genre rows' "top rated" (at least 50 ratings)
    member = User.objects.create_user("member", password=PASSWORD)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    liked = [1, 2, 3]  # few liked movies: in a 40-movie world the rows below the picks share three reasons
    Rating.objects.bulk_create(
        [Rating(user=member, movie_id=m, value=5.0, rated_at=at) for m in liked]
        + [Rating(user=member, movie_id=m, value=1.0, rated_at=at) for m in (21, 22, 23)]
    )
    page = tab
    log_in(page, member, live_server.url)

    page.goto("/")
    rows = page.locator(".reason-row h2")
    expect(rows.first).to_contain_text("Because you liked")
    named = rows.all_inner_texts()
    assert all(any(f"A movie {m}" == t.removeprefix("Because you liked ").strip() for m in liked) for t in named), named
    genre_rows = page.locator(".genre-row h2").all_inner_texts()
    assert any("Action" in t for t in genre_rows) and not any("Romance" in t for t in genre_rows), genre_rows
    snap("rows")

    page.select_option("#picks-genre", "Romance")
    expect(page.locator("#picks-genre")).to_have_value("Romance")
    expect(page.locator("#picks .movie-card .title").first).to_have_text(re.compile("^B movie"))
    filtered = page.locator("#picks .movie-card .title").all_inner_texts()
    assert filtered and all(t.startswith("B movie") for t in filtered), filtered
    snap("filtered")
    page.select_option("#picks-genre", "")
    expect(page.locator("#picks .movie-card .title").first).to_have_text(re.compile("^A movie"))

    card = page.locator("#picks .movie-card").first
    saved_title = card.locator("a.title").inner_text()
    card.get_by_role("button", name=re.compile("Save .* for later")).click()
    expect(card.locator(".save-later.is-saved")).to_be_visible()
    assert WatchlistEntry.objects.filter(user=member).count() == 1

    page.goto("/me/watchlist/")
    expect(page.locator(".movie-card .title")).to_have_text([saved_title])
    snap("watchlist")

    page.goto("/movies/?sort=count&genre=Action")
    unrated = page.locator(".movie-grid .movie-card").filter(has_not=page.locator(".rating[data-mine]")).first
    browse_card = page.locator(f".movie-card[data-movie='{unrated.get_attribute('data-movie')}']")
    browse_card.locator("label.full").nth(1).click()  # 4 stars (labels run 5, 4, 3 ...) from the browse page
    expect(browse_card.locator(".rating-status")).to_contain_text("4")
    snap("browse-rated")

    page.goto("/")
    picks = page.locator("#picks .movie-card a.title").all_inner_texts()
    assert picks and saved_title not in picks
