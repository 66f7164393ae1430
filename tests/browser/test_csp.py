"""Every page of the site, the map, htmx swaps, the admin and the API docs run under the
Content-Security-Policy without a single violation (issue 15, item 7)."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from movies.models import Movie
from recommender.models import ModelVersion
from tests.browser.test_journeys import _trained_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-passphrase-42"
# Catches what the console might word differently: the browser's own violation event.
LISTEN = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def _pages(movie_id: int, version_id: int, user_id: int) -> list[str]:
    return [
        "/",
        "/movies/?sort=count",
        f"/movies/{movie_id}/",
        "/me/ratings/",
        "/explore/",
        "/explore/map/",
        "/explore/clusters/",
        "/explore/clusters/0/",
        "/explore/biases/",
        "/account/tokens/",
        "/accounts/password_change/",
        "/accounts/me/",
        "/accounts/me/email/",
        "/accounts/me/delete/",
        "/movies/0/",  # the site's 404
        "/api/docs",
        "/admin/",
        "/admin/recommender/modelversion/",
        f"/admin/recommender/modelversion/{version_id}/change/",
        f"/admin/auth/user/{user_id}/change/",
        "/admin/movies/movie/",
    ]


def test_no_page_breaks_the_content_security_policy(page, trained_run):
    _trained_world(trained_run)
    User.objects.create_superuser("root", password=PASSWORD)
    root = User.objects.get(username="root")
    movie = Movie.objects.order_by("pk").first()
    version = ModelVersion.objects.get(is_active=True)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(LISTEN)

    page.goto("/accounts/login/")
    assert "script-src 'self'" in page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))

    seen: dict[str, list[str]] = {}
    for path in _pages(movie.pk, version.pk, root.pk):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if path == "/explore/map/":
            expect(page.locator("#movie-map[data-ready]")).to_have_count(1)
        if path == "/api/docs":
            expect(page.locator(".swagger-ui .info")).to_have_count(1)
        found = page.evaluate("window.__csp")
        if found:
            seen[path] = found

    # htmx: rate from the movie page (a swap) and make a token (a page showing a secret).
    page.goto(f"/movies/{movie.pk}/")
    page.locator(".stars label").nth(1).click()
    page.wait_for_load_state("networkidle")
    if page.evaluate("window.__csp"):
        seen["htmx rating"] = page.evaluate("window.__csp")
    assert not seen, seen
    assert not console, console
