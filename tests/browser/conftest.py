"""A headless Debian Chromium driven by Playwright against pytest-django's live server.

Never `playwright install`: downloads fail here and CI has Debian's chromium.
The integration tier's `stack`/`start_worker` fixtures are imported so the admin
journey can run a real Celery worker on the same test database and Redis.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import REPO, need
from tests.integration.conftest import stack, start_worker  # noqa: F401 (fixtures)

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs its own event loop; Django refuses ORM calls from a
# thread with a running loop unless told this is deliberate (test code only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    need(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (bin/ensure-browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Shots:
    """Saves a full-page screenshot of each page a test visits, numbered in visiting order."""

    def __init__(self, page: Page, test_name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shot(page, request) -> Shots:
    return Shots(page, request.node.name)


def recount_movies() -> None:
    """Worlds bulk-create ratings; the pages read each movie's stored totals, so set them."""
    from movies.totals import movie_totals_recount

    movie_totals_recount()


# The widths every journey runs at: a desktop window and a phone.
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def tab(request, browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors  # no script error on any page of the journey


@pytest.fixture
def snap(tab, request) -> Shots:
    return Shots(tab, request.node.name)


def log_in(page: Page, user: object, url: str) -> None:
    """The session of a logged-in user, without spending a page load on the login form."""
    from django.test import Client

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])


def admin_log_in(page: Page, password: str, shot: Shots | None = None) -> None:
    """A superuser, "boss", logged in through the admin's own login form."""
    from django.contrib.auth.models import User

    User.objects.create_superuser("boss", "boss@example.com", password)
    page.goto("/admin/login/")
    if shot is not None:
        shot("admin-login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
