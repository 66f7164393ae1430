"""axe-core's accessibility check of the main pages, for a visitor and a member, at desktop and phone width.

axe-core comes from npm (tests/browser/package.json, installed by bin/ensure-browser); the page's
Content-Security-Policy would refuse the injected script, so the check's browser context bypasses it.
"""

import pytest

from tests.browser.conftest import REPO, VIEWPORTS, log_in
from tests.conftest import need
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = REPO / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
# What a person with a screen reader or keyboard is kept out by; "moderate" and "minor" are not.
BLOCKING = ("serious", "critical")
VISITOR_PAGES = [
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password_reset/",
    "/movies/",
    "/movies/?q=movie",
    "/movies/1/",
]
MEMBER_PAGES = [
    "/",
    "/me/picks/",
    "/me/ratings/",
    "/me/watchlist/",
    "/movies/21/",
    "/accounts/me/",
    "/explore/",
    "/explore/map/",
    "/explore/clusters/",
]


def _blocking_violations(page, path: str) -> list[str]:
    page.goto(path)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{path}: {v['id']} ({v['impact']}) {v['help']}: {[node['target'] for node in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_main_pages_have_no_serious_accessibility_violations(browser, live_server, trained_run, width):
    need(AXE.exists(), f"axe-core at {AXE} (bin/ensure-browser installs it with npm)")
    users = two_tastes_world()
    install(trained_run)
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[width], bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    found = []
    for path in VISITOR_PAGES:
        found += _blocking_violations(page, path)
    log_in(page, users[0], live_server.url)
    for path in MEMBER_PAGES:
        found += _blocking_violations(page, path)
    context.close()
    assert not found, "\n".join(found)


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_pick_groups_step_has_no_serious_accessibility_violations(browser, live_server, trained_run, width):
    """A newcomer's home page with the groups to mark, then with a choice stored (folded away)."""
    from django.contrib.auth.models import User

    from movies.services import group_choice_set
    from recommender.services import user_picks_refresh
    from recommender.services.explore import explore_refresh
    from recommender.services.pick_groups import pick_groups_offered
    from tests.browser.conftest import recount_movies

    need(AXE.exists(), f"axe-core at {AXE} (bin/ensure-browser installs it with npm)")
    two_tastes_world()
    recount_movies()
    explore_refresh(version=install(trained_run))
    newcomer = User.objects.create_user("newcomer")
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[width], bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, newcomer, live_server.url)
    found = _blocking_violations(page, "/")
    assert page.locator("#pick-groups .pick-group").count() == 2
    group = pick_groups_offered()[1][0]
    group_choice_set(user=newcomer, groups=[(group.name, group.movie_ids, True)])
    user_picks_refresh(user_id=newcomer.pk)  # as the view does: the cached home page is stale
    found += _blocking_violations(page, "/")
    assert page.locator("#pick-groups details").count() == 1
    context.close()
    assert not found, "\n".join(found)
