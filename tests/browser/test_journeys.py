"""The journeys that matter, in a real browser: sign up and onboard, browse, retrain from admin."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from recommender.models import ModelVersion
from tests.browser.conftest import admin_log_in, recount_movies
from tests.integration.conftest import wait_for
from tests.trained import TrainedRun, install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-passphrase-42"


def _trained_world(run: TrainedRun) -> None:
    """The two-tastes world with its totals, and a trained, active version with its map."""
    two_tastes_world()
    recount_movies()
    install(run)


def _pick_titles(page) -> list[str]:
    return page.locator("#picks .movie-card .title").all_inner_texts()


def test_a_newcomer_signs_up_rates_five_movies_and_sees_picks_change_without_reload(page, shot, settings, trained_run):
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    _trained_world(trained_run)

    page.goto("/accounts/signup/")
    shot("signup")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".onboarding")).to_be_visible()
    shot("onboarding")
    # A marker on the window proves later changes happened in this same page, not after a reload.
    page.evaluate("window.__noReload = true")
    before = _pick_titles(page)

    # Five A movies loved: the fold-in must turn the picks towards the other A movies.
    a_cards = page.locator(".group .movie-card").filter(has=page.locator("a.title", has_text="A movie"))
    for i in range(5):
        card = a_cards.nth(i)
        movie_id = card.locator(".rating").get_attribute("id").split("-")[1]
        card.locator(f"label[for='rate-{movie_id}-10']").click()
        expect(card.locator(".rating-status")).to_contain_text("5", timeout=10_000)
    expect(page.locator("#picks .movie-card").first).to_be_visible(timeout=10_000)
    shot("picks")
    after = _pick_titles(page)
    assert page.evaluate("window.__noReload") is True
    assert after and after != before
    assert sum(title.startswith("A movie") for title in after[:5]) >= 4, after
    assert User.objects.get(username="newcomer").ratings.count() == 5


def test_a_visitor_searches_and_filters_the_catalogue(page, shot):
    two_tastes_world()
    recount_movies()

    # Sorted by count: sorting by average hides movies with fewer ratings than the small world has.
    page.goto("/movies/?sort=count")
    shot("browse")
    expect(page.locator(".result-count")).to_contain_text("40 movies")
    page.fill(".filters input[name=q]", "movie 3")
    page.click(".filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"q=movie\+3"))
    expect(page.locator(".result-count")).to_contain_text("11 movies")  # 3 and 30-39
    shot("search")
    titles = page.locator(".movie-card .title").all_inner_texts()
    assert titles and all("movie 3" in t for t in titles), titles

    page.goto("/movies/?sort=count")
    page.select_option(".filters select[name=genre]", label="Romance")
    page.click(".filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"genre=Romance"))
    shot("filter")
    titles = page.locator(".movie-card .title").all_inner_texts()
    assert titles and all(t.startswith("B movie") for t in titles), titles


@pytest.mark.integration
def test_an_admin_presses_retrain_now_and_sees_the_new_version_become_active(page, shot, stack, start_worker):
    two_tastes_world()
    recount_movies()
    worker = start_worker()

    admin_log_in(page, PASSWORD, shot)
    page.goto("/admin/recommender/modelversion/")
    shot("versions")
    page.click("button.retrain-now")
    page.wait_for_url(re.compile(r"/admin/recommender/modelversion/\d+/change/"))
    shot("progress")
    version_id = int(re.search(r"/modelversion/(\d+)/", page.url).group(1))
    # The page polls its JSON view and reloads itself once the run ends (to show metrics
    # and buttons): nobody touches the page from here on.
    try:
        expect(page.locator("#version-progress .state")).to_have_text(re.compile("Active", re.I), timeout=150_000)
    except AssertionError:
        wait_for(lambda: False, timeout=0, what="the progress page to show Active", worker=worker)
    shot("active")
    assert ModelVersion.objects.get(pk=version_id).is_active


def _map_position(page, x: float, y: float) -> tuple[float, float]:
    """Where static/js/movie_map.js draws a point at data coordinates (x, y) at the first zoom
    (its toScreen: a square of the canvas's shorter side, padded 16 px, centred), in page pixels."""
    box = page.locator("#movie-map").bounding_box()
    pad = 16
    w, h = box["width"] - 2 * pad, box["height"] - 2 * pad
    side = min(w, h)
    return box["x"] + pad + (w - side) / 2 + x * side, box["y"] + pad + (h - side) / 2 + y * side


def test_a_visitor_opens_the_movie_map_and_clicks_a_movie(page, shot, trained_run):
    _trained_world(trained_run)

    page.goto("/explore/map/")
    canvas = page.locator("#movie-map[data-ready]")
    expect(canvas).to_have_count(1, timeout=15_000)  # the points are fetched and drawn
    points = page.evaluate("fetch(document.getElementById('movie-map').dataset.points).then(r => r.json())")["points"]
    assert int(canvas.get_attribute("data-ready")) == len(points) > 0
    shot("map")
    # The map runs below the fold of a 900-pixel window: the whole of it in view, any dot can be pointed at.
    canvas.evaluate("map => map.scrollIntoView({block: 'center'})")

    # The dot farthest from its nearest neighbour: a click there can only mean that movie.
    screen = [(p, _map_position(page, p[2], p[3])) for p in points]

    def room(item):
        (_, (x, y)) = item
        return min((x - ox) ** 2 + (y - oy) ** 2 for q, (ox, oy) in screen if q is not item[0])

    (movie_id, title, *_), (x, y) = max(screen, key=room)
    page.mouse.move(x, y)
    expect(page.locator("#movie-map-tip")).to_contain_text(title)
    shot("hover")
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(rf"/movies/{movie_id}/$"))
    expect(page.locator("h1")).to_contain_text(title.rsplit(" (", 1)[0])
    shot("movie")
