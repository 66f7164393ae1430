"""The account journeys in a real browser at desktop and phone width: resetting a forgotten password
from the e-mail, the account page and its ratings.csv, deleting the account, the API token page's copy
button, the site's 404, and the small things (home figures and heading, the sort select, undoing a
removed rating). Screenshots under test-artifacts/browser/."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import expect

from accounts.models import ApiToken
from movies import services
from movies.models import Movie, Rating, WatchlistEntry
from tests.browser.conftest import log_in
from tests.catalogue import PASSWORD, genres_create, movies_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("limits_fresh")]

NEW_PASSWORD = "a-brand-new-passphrase-77"


@pytest.fixture
def dora(db):
    """A member with an e-mail address, three ratings, a watchlist entry, and five movies around."""
    movies_create(genres_create())
    dora = User.objects.create_user("dora", email="dora@example.org", password=PASSWORD)
    for movie_id, stars in [(1, 4.5), (3, 3.0), (4, 5.0)]:
        services.rating_create_or_update(user=dora, movie_id=movie_id, value=stars)
    services.watchlist_add(user=dora, movie_id=2)
    Rating.objects.filter(user=dora, movie_id=1).update(rated_at=datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC))
    return dora


def _fits(page, selector: str) -> bool:
    """Whether every element matched is as wide as its content, nothing cut off or scrolled sideways."""
    return page.evaluate(
        "s => [...document.querySelectorAll(s)].every(e => e.scrollWidth <= e.clientWidth + 1)", selector
    )


def test_a_member_resets_a_forgotten_password_from_the_email_and_logs_in(tab, snap, dora):
    page = tab
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.locator("h1")).to_have_text("Reset your password")
    page.fill("input[name=email]", "dora@example.org")
    snap("reset-form")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.locator("h1")).to_have_text("Check your e-mail")
    snap("reset-sent")

    (message,) = mail.outbox
    assert message.to == ["dora@example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("input[name=new_password1]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    snap("new-password")
    page.get_by_role("button", name="Set my new password").click()
    expect(page.locator("h1")).to_have_text("Your password is changed")
    snap("changed")

    page.locator("main").get_by_role("link", name="Log in").click()
    page.fill("input[name=username]", "dora")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.locator(".site-header .who")).to_have_text("dora")
    snap("logged-in")

    page.goto(link)  # a used link
    expect(page.locator("h1")).to_have_text("This link no longer works")
    assert _fits(page, "body")


def test_a_member_downloads_their_ratings_then_deletes_the_account(tab, snap, dora, live_server):
    page = tab
    dora_id = dora.pk
    log_in(page, dora, live_server.url)
    page.goto("/")
    page.locator(".site-header .who").click()
    expect(page.locator("h1")).to_have_text("Your account")
    names, values = page.locator(".counts dt").all_inner_texts(), page.locator(".counts dd").all_inner_texts()
    counts = dict(zip(names, values, strict=True))
    assert counts["Ratings"] == "3" and counts["Watchlist"] == "1" and counts["API tokens"] == "0"
    assert _fits(page, "body")
    snap("account")

    page.get_by_role("link", name="Change my e-mail address").click()
    expect(page.locator("input[name=email]")).to_have_value("dora@example.org")
    page.fill("input[name=email]", "dora@elsewhere.org")
    page.fill("input[name=password]", PASSWORD)
    snap("email")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Your e-mail address is saved")
    expect(page.locator("main")).to_contain_text("dora@elsewhere.org")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my ratings").click()
    assert download.value.suggested_filename == "ratings.csv"
    rows = list(csv.reader(io.StringIO(open(download.value.path()).read())))  # noqa: SIM115
    assert rows[0] == ["userId", "movieId", "rating", "timestamp"]
    assert [r[1:3] for r in rows[1:]] == [["1", "4.5"], ["3", "3.0"], ["4", "5.0"]]
    assert rows[1] == [str(dora_id), "1", "4.5", "1000000000"]

    page.get_by_role("link", name="Delete my account…").click()
    expect(page.locator("h1")).to_have_text("Delete your account?")
    expect(page.locator("main li").first).to_contain_text("3 ratings")
    page.fill("input[name=password]", "not-my-password")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.locator(".errors")).to_contain_text("That is not your password")
    snap("delete-wrong-password")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.locator(".messages")).to_contain_text("Your account is deleted")
    expect(page.locator(".site-header")).to_contain_text("Log in")
    snap("deleted")

    assert not User.objects.filter(pk=dora_id).exists()
    assert not Rating.objects.filter(user_id=dora_id).exists()
    assert not WatchlistEntry.objects.filter(user_id=dora_id).exists()
    assert Movie.objects.get(pk=1).ratings_count == 0 and Movie.objects.get(pk=4).ratings_mean is None


def test_a_new_api_token_is_copied_with_one_click_and_its_page_is_never_stored(tab, snap, dora, live_server):
    page = tab
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, dora, live_server.url)
    page.goto("/accounts/me/")
    page.locator("main").get_by_role("link", name="API tokens").first.click()
    expect(page.locator("h1")).to_have_text("API tokens")
    page.fill("#token-name", "phone app")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/account/tokens/")) as answer:
        page.get_by_role("button", name="Create token").click()
    assert "no-store" in answer.value.headers["cache-control"]
    secret = page.locator("#new-token").inner_text().strip()
    assert secret.startswith("mvr_") and ApiToken.objects.filter(user=dora, name="phone app").exists()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert _fits(page, "body")
    snap("token-created")

    page.get_by_role("button", name="Revoke phone app").click()
    expect(page.locator(".token.revoked .badge")).to_contain_text("revoked")
    expect(page.locator("#new-token")).to_have_count(0)
    snap("token-revoked")


@pytest.mark.parametrize("debug", [False, True])
def test_a_missing_movie_shows_the_site_s_404_page(tab, snap, settings, db, debug):
    settings.DEBUG = debug  # make run's DEBUG on must not show Django's debug page for it
    page = tab
    response = page.goto("/movies/424242/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("We could not find that page")
    expect(page.locator(".site-header .brand")).to_be_visible()
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon == "/static/favicon.svg" and page.request.get(icon).status == 200
    assert _fits(page, "body")
    snap("not-found")
    page.fill("#nf-q", "matrix")
    page.locator("main").get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/movies/\?q=matrix"))


def test_the_home_pages_the_sort_select_and_undoing_a_removed_rating(tab, snap, dora, live_server, monkeypatch):
    page = tab
    Movie.objects.filter(pk=5).update(ratings_count=2000, ratings_sum=8000)  # besides dora's three
    page.goto("/")
    expect(page.locator(".hero p").first).to_contain_text("learned from 2,003 ratings of 5 movies")
    snap("visitor-home")

    page.goto("/movies/?sort=predicted")
    sort = page.locator("#id_sort")
    # The longest label, measured in the select's own font, fits inside it beside the arrow.
    room = page.evaluate(
        """el => {
          const style = getComputedStyle(el);
          const probe = document.createElement("span");
          probe.style.font = style.font;
          probe.style.whiteSpace = "nowrap";
          document.body.appendChild(probe);
          const width = o => { probe.textContent = o.text; return probe.offsetWidth; };
          const widest = Math.max(...[...el.options].map(width));
          probe.remove();
          return el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16 - widest;
        }""",
        sort.element_handle(),
    )
    assert room >= 0, f"the sort select is {-room}px too narrow for its longest label"
    assert _fits(page, "body")
    snap("browse-filters")

    monkeypatch.setattr("movies.views.catalogue.ONBOARDING_RATINGS", 3)
    monkeypatch.setattr("movies.views.picks.ONBOARDING_RATINGS", 3)
    log_in(page, dora, live_server.url)
    page.goto("/")
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_contain_text("Hello, dora")
    snap("member-home")

    page.goto("/me/ratings/")
    row = page.locator(".rating-row").filter(has=page.locator("a.title", has_text="Toy Story"))
    row.get_by_role("button", name="Remove rating").click()
    expect(row.locator(".undo-remove")).to_contain_text("Rating removed.")
    assert not Rating.objects.filter(user=dora, movie_id=1).exists()
    snap("removed")
    row.get_by_role("button", name=re.compile("^Undo")).click()
    expect(row.locator(".rating-status")).to_contain_text("4.5 stars")
    assert Rating.objects.get(user=dora, movie_id=1).value == 4.5
    assert Movie.objects.get(pk=1).ratings_count == 1
    snap("undone")
