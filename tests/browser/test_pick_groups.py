"""Onboarding's pick-groups step in a real browser, at desktop and phone width: two newcomers make
opposite choices and each sees their own picks in the same page; without JavaScript the form posts.
Screenshots under test-artifacts/browser/."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from movies.models import GroupChoice, Rating
from recommender.services.explore import explore_refresh
from tests.browser.conftest import VIEWPORTS, Shots, log_in, recount_movies
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings, trained_run) -> None:
    """The two-tastes world with its totals, and an active version clustered from them: an A group and a B group."""
    settings.RECOMMENDER_POPULAR_MIN_RATINGS = 0
    two_tastes_world()
    recount_movies()
    explore_refresh(version=install(trained_run))


def _group(page: Page, kind: str):
    """The group whose movies are the "A" (or "B") movies."""
    return page.locator(".pick-group", has=page.locator(".group-movies", has_text=f"{kind} movie"))


def _pick_titles(page: Page) -> list[str]:
    return page.locator("#picks .movie-card a.title").all_inner_texts()


def test_newcomers_pick_groups_and_see_opposite_picks_without_a_reload(tab, snap, world, live_server):
    page = tab
    seen = {}
    for like, reject in (("A", "B"), ("B", "A")):
        newcomer = User.objects.create_user(f"likes-{like.lower()}")
        page.context.clear_cookies()
        log_in(page, newcomer, live_server.url)
        page.goto("/")
        expect(page.locator("#pick-groups .pick-group")).to_have_count(2)
        expect(page.locator("#picks .movie-card")).to_have_count(0)
        if like == "A":
            snap("groups")
        page.evaluate("window.__noReload = true")

        _group(page, like).locator("label.like").click()
        _group(page, reject).locator("label.dislike").click()
        expect(_group(page, like).locator("input[value=like]")).to_be_checked()
        snap(f"marked-{like}")
        page.get_by_role("button", name="Show my picks").click()

        expect(page.locator(".pick-groups-status")).to_contain_text("Saved: 1 group you like, 1 not for you.")
        expect(page.locator("#picks .movie-card").first).to_be_visible()
        expect(page.locator("#pick-groups summary")).to_have_text("Change your groups")
        snap(f"picks-{like}")
        assert page.evaluate("window.__noReload") is True
        seen[like] = _pick_titles(page)
        assert sum(t.startswith(f"{like} movie") for t in seen[like][:5]) >= 4, seen[like]
        assert GroupChoice.objects.filter(user=newcomer).exists()
        assert not Rating.objects.filter(user=newcomer).exists()
    assert not set(seen["A"][:5]) & set(seen["B"][:5])


def test_without_javascript_the_choice_posts_and_the_home_page_shows_the_picks(browser, world, live_server, request):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS["phone"], java_script_enabled=False)
    page = context.new_page()
    snap = Shots(page, request.node.name)
    newcomer = User.objects.create_user("no-script")
    log_in(page, newcomer, live_server.url)
    page.goto("/")
    _group(page, "B").locator("label.like").click()
    page.get_by_role("button", name="Show my picks").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".messages")).to_contain_text("Saved: 1 group you like, 0 not for you.")
    expect(page.locator("#picks .movie-card").first).to_be_visible()
    snap("picks")
    assert sum(t.startswith("B movie") for t in _pick_titles(page)[:5]) >= 4
    context.close()
