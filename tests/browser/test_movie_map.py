"""The movie map in a real browser: cluster names, the search box, a person's own stars, touch zoom and pan."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from movies.models import Rating
from tests.browser.conftest import Shots
from tests.browser.test_journeys import _trained_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(context, user: User, url: str) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])


def _ready(page) -> None:
    expect(page.locator("#movie-map[data-ready]")).to_have_count(1, timeout=15_000)


def test_a_person_finds_a_movie_and_sees_their_own_stars_on_the_map(page, shot, live_server, trained_run):
    _trained_world(trained_run)
    fan = User.objects.get(username="fan0")
    rated = dict(Rating.objects.filter(user=fan).values_list("movie_id", "value"))
    _log_in(page.context, fan, live_server.url)

    page.goto("/explore/map/")
    _ready(page)
    canvas = page.locator("#movie-map")
    expect(canvas).to_have_attribute("data-mine-ready", str(len(rated)))
    expect(page.locator("#movie-map-stars")).to_be_visible()
    names = page.evaluate("fetch('/explore/map/points.json').then(r => r.json())")["clusters"]
    expect(page.locator(".map-clusters li")).to_have_count(len(names))
    shot("mine")

    page.fill("#movie-map-search", "a movie 17")
    expect(page.locator("#movie-map-results button")).to_have_text(["A movie 17 (2000)"])
    page.locator("#movie-map-results button").click()
    expect(canvas).to_have_attribute("data-focus", "17")
    expect(page.locator("#movie-map-tip")).to_contain_text("A movie 17")
    assert float(canvas.get_attribute("data-scale")) >= 8  # zoomed in on it
    shot("found")

    page.fill("#movie-map-search", "b movie 40")
    page.press("#movie-map-search", "Enter")  # Enter flies to the first match
    expect(canvas).to_have_attribute("data-focus", "40")
    page.uncheck("#movie-map-mine")
    shot("without-mine")


def test_a_visitor_zooms_and_pans_the_map_by_touch_on_a_phone(browser, live_server, trained_run, request):
    _trained_world(trained_run)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    shot = Shots(page, request.node.name)
    try:
        page.goto("/explore/map/")
        _ready(page)
        shot("phone")
        box = page.locator("#movie-map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        cdp = context.new_cdp_session(page)

        def touch(kind: str, points: list[tuple[float, float]]) -> None:
            cdp.send(
                "Input.dispatchTouchEvent",
                {"type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]},
            )

        # Two fingers move apart: a pinch that zooms in about its middle.
        touch("touchStart", [(cx - 20, cy), (cx + 20, cy)])
        for step in range(1, 9):
            touch("touchMove", [(cx - 20 - 12 * step, cy), (cx + 20 + 12 * step, cy)])
        touch("touchEnd", [])
        scale = float(page.locator("#movie-map").get_attribute("data-scale"))
        assert scale > 2, scale
        shot("pinched")

        # One finger drags: the map pans, and a drag is no tap (no title shown, no movie opened).
        before = page.evaluate("document.getElementById('movie-map').toDataURL()")
        touch("touchStart", [(cx, cy)])
        for step in range(1, 8):
            touch("touchMove", [(cx + 10 * step, cy + 6 * step)])
        touch("touchEnd", [])
        assert page.evaluate("document.getElementById('movie-map').toDataURL()") != before
        assert page.url.endswith("/explore/map/")
        expect(page.locator("#movie-map-tip")).to_be_hidden()
        shot("panned")
    finally:
        context.close()
