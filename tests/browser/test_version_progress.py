"""An admin watches a real training on the version page: the pass and its epochs, the bar, then the finished version."""

import re
import time

import pytest
from playwright.sync_api import expect

from recommender import dispatch
from tests.browser.conftest import admin_log_in, recount_movies
from tests.worlds import FAST, two_tastes_world

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-passphrase-42"
EPOCHS = 200  # the tiny world's epochs take a fraction of a second: enough of them to watch the page move
DONE = re.compile("Active", re.I)


def _seen(page) -> tuple[str, int, str, bool] | None:
    """What a person sees now: the progress sentence, the bar's percentage, the tab's title, the error box."""
    try:
        return (
            page.locator("#version-progress .progress-text").inner_text(timeout=1000),
            int(page.locator("#version-progress .epoch-bar").get_attribute("aria-valuenow", timeout=1000)),
            page.title(),
            page.locator("#version-progress .errornote").is_visible(),
        )
    except Exception:  # the page reloads itself once the run ends
        return None


def test_an_admin_watches_a_training_advance_then_finish(page, shot, stack, start_worker):
    two_tastes_world()
    recount_movies()
    worker = start_worker()
    admin_log_in(page, PASSWORD)

    version, _ = dispatch.retrain_request(overrides={**FAST, "epochs": EPOCHS, "patience": EPOCHS})
    page.goto(f"/admin/recommender/modelversion/{version.pk}/change/")
    seen, shots, deadline = [], set(), time.monotonic() + 240
    while time.monotonic() < deadline:
        now = _seen(page)
        if now is not None:
            seen.append(now)
            text = now[0]
            if "Ranking pass: epoch" in text and "desktop" not in shots:
                shots.add("desktop")
                shot("training-desktop")
            elif (
                "Ranking pass: epoch" in text
                and int(re.search(r"epoch (\d+)", text).group(1)) > 10
                and "narrow" not in shots
            ):
                shots.add("narrow")
                page.set_viewport_size({"width": 390, "height": 844})
                shot("training-narrow")
                page.set_viewport_size({"width": 1200, "height": 900})
        if DONE.search(page.locator("#version-progress .state").inner_text()):
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"the run did not finish; seen {seen[-5:]}\n{worker.output()[-3000:]}")

    texts = [text for text, *_ in seen]
    ranking = [int(m.group(1)) for t in texts if (m := re.fullmatch(r"Ranking pass: epoch (\d+) of at most 200", t))]
    assert len(set(ranking)) >= 3 and ranking == sorted(ranking), texts  # the count advances, pass by pass
    for text in texts:
        if m := re.search(r"epoch (\d+) of at most (\d+)", text):
            assert 0 < int(m.group(1)) <= int(m.group(2)), text
    bars = [bar for _, bar, *_ in seen if bar < 100]
    assert bars == sorted(bars) and bars[-1] > bars[0], bars  # the bar fills as the epochs pass
    assert any(re.match(r"v\d+ \(default, training\) · Ranking pass", title) for *_, title, _ in seen), seen[:3]
    assert not any(error for *_, error in seen)  # no empty red box while it trains
    assert {"desktop", "narrow"} <= shots

    # The finished page: the state, what each pass took, a full bar, the curves with their axes.
    box = page.locator("#version-progress")
    expect(box.locator(".progress-text")).to_have_text(re.compile(r"Trained in \d+ epochs"))
    version.refresh_from_db()
    trained = sum(row["phase"] == "ranking" for row in version.history)
    expect(box.locator(".progress-summary")).to_contain_text(f"Ranking pass {trained} epochs of at most {EPOCHS}")
    expect(box.locator(".epoch-bar")).to_have_attribute("aria-valuenow", "100")
    expect(box.locator(".errornote")).to_be_hidden()
    expect(box.locator("svg.training-curves")).to_contain_text("Validation RMSE, stars")
    expect(page.locator("#version-title")).to_have_text(f"v{version.pk} (default, active)")
    shot("finished-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    shot("finished-narrow")
    assert version.is_active
