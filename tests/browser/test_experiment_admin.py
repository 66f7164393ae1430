"""An admin starts an A/B experiment in admin, people use the site, and the admin reads both arms' results."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from movies.models import Rating
from recommender.models import Experiment
from recommender.services import experiments, impressions, recommend_for
from recommender.services.shown import picks_shown
from tests.browser.conftest import recount_movies
from tests.online import popularity_version
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-passphrase-42"


def test_an_admin_starts_an_experiment_and_reads_its_results(page, shot, settings, trained_run):
    settings.RECOMMENDER_LISTS_URL = ""
    settings.RECOMMENDER_IMPRESSIONS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True  # "Recount the figures" runs in the web process
    settings.RECOMMENDER_DISCOUNT_STRENGTH = 0.0
    impressions.local_clear()
    experiments.forget()
    users = two_tastes_world()
    recount_movies()
    active = install(trained_run)
    challenger = popularity_version(active)
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)

    page.goto("/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.goto("/admin/recommender/experiment/add/")
    page.select_option("select[name=challenger]", str(challenger.pk))
    page.fill("input[name=share]", "0.5")
    page.fill("input[name=name]", "popularity against the model")
    shot("start")
    page.click("input[name=_save]")
    expect(page.locator("#result_list")).to_contain_text("popularity against the model")
    experiment = Experiment.objects.get()
    assert experiment.state == "running" and experiment.control_id == active.pk

    # People visit: each is shown their arm's picks, and rates the first two within the hour.
    experiments.forget()
    for user in users:
        shown = [p.movie.pk for p in recommend_for(user, n=5)]
        assert picks_shown(user_id=user.pk, source="home", movie_ids=shown)
        for movie_id in shown[:2]:
            Rating.objects.update_or_create(
                user=user, movie_id=movie_id, defaults={"value": 4.0, "rated_at": timezone.now() + timedelta(minutes=1)}
            )

    page.locator("#result_list a", has_text="popularity against the model").click()
    page.wait_for_url(re.compile(r"/admin/recommender/experiment/\d+/change/"))
    page.click("#refresh-figures")
    results = page.locator("#experiment-results")
    expect(results.locator("tr.hit-rate")).to_contain_text("40.0%")  # 2 of 5 shown, in both arms
    expect(results.locator("tr.hit-rate")).to_contain_text("p = ")
    expect(results.locator("tr.mean-stars")).to_contain_text("4.00")
    expect(results.locator(".sample-size")).to_contain_text("each arm needs")
    shot("results")
    page.set_viewport_size({"width": 390, "height": 844})
    shot("results-narrow")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#promote-challenger")
    expect(page.locator(".messagelist")).to_contain_text(f"v{challenger.pk} serves everybody")
    challenger.refresh_from_db()
    assert challenger.is_active
