"""The recommender's management commands: train, recommend, evaluate, retrain, refresh_lists."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recommender.models import ModelVersion
from tests.conftest import REPO
from tests.trained import install

pytestmark = pytest.mark.django_db

FIXTURES = REPO / "tests" / "fixtures" / "movielens"


def _run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.mark.slow
def test_train_prints_each_epoch_and_a_summary_line(two_tastes):
    output = _run("train", epochs=3, dim=8)
    version = ModelVersion.objects.get()
    assert "epoch   1  loss" in output
    assert f"trained v{version.pk} (default) on {version.n_ratings:,} ratings in" in output
    assert version.is_active
    # The long steps after the epochs say what the terminal waits for.
    assert "building the movie map (t-SNE) and clusters ..." in output
    # Protocols R and T after the lists: the version is live before its figures are measured.
    assert output.index("computing every user's list") < output.index("measuring protocols R and T")
    assert "over RECOMMENDER_PROTOCOL_MAX_RATINGS" in version.metrics["protocols"]  # the tests set it to 0


@pytest.mark.slow
def test_train_with_no_protocols_skips_them_and_says_so_in_the_metrics(two_tastes):
    output = _run("train", epochs=2, dim=8, no_protocols=True)
    version = ModelVersion.objects.get()
    assert "measuring protocols" not in output and "building the movie map" in output
    assert version.is_active
    assert version.metrics["protocols"] == "skipped: not asked for (train --no-protocols)"


def test_train_refuses_an_empty_catalogue_clearly(db):
    with pytest.raises(CommandError, match="no ratings to train on"):
        _run("train")


@pytest.mark.slow
def test_train_with_no_activate_keeps_the_new_version_ready(two_tastes, trained_run):
    install(trained_run)  # an active version, as a first `train` leaves it
    _run("train", epochs=2, dim=8, no_activate=True)
    first, second = ModelVersion.objects.order_by("pk")
    assert first.is_active and second.state == ModelVersion.State.READY


def test_recommend_prints_picks_with_stars_and_reasons(two_tastes, trained_run):
    version = install(trained_run)
    output = _run("recommend", user="fan0", n=3)
    assert f"Top 3 for fan0 (model v{version.pk}):" in output
    assert output.count("★") == 3 and "because you rated" in output


def test_recommend_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        _run("recommend", user="nobody")


@pytest.mark.parametrize("layout", ["csv", "dat-1m", "100k"])
def test_evaluate_reads_every_layout_and_prints_one_table(layout):
    output = _run("evaluate", data=str(FIXTURES / layout), presets="tutorial", epochs=1)
    assert "model" in output and "RMSE(R)" in output and "nDCG@10" in output
    for name in ("global mean", "user+item biases", "most popular", "EASE", "tutorial"):
        assert name in output
    assert "evaluated 5 models on" in output


def test_evaluate_refuses_an_unknown_preset():
    with pytest.raises(CommandError, match="unknown preset"):
        _run("evaluate", data=str(FIXTURES / "csv"), presets="magic")


def test_retrain_queues_a_version_and_says_so(db, settings, mocker, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    delay = mocker.patch("recommender.tasks.train_version.delay")
    with django_capture_on_commit_callbacks(execute=True):
        output = _run("retrain")
    version = ModelVersion.objects.get()
    assert output.strip() == f"queued v{version.pk} (auto); follow it in admin"
    delay.assert_called_once_with(version.pk)
    assert _run("retrain").strip() == f"already training: v{version.pk} is Queued"


def test_refresh_lists_needs_an_active_version(db):
    with pytest.raises(CommandError, match="no active version"):
        _run("refresh_lists")


def test_refresh_lists_republishes_the_active_version(two_tastes, trained_run):
    install(trained_run)  # as `train` leaves it: trained, lists built, active
    version = ModelVersion.objects.get()
    assert _run("refresh_lists", here=True).strip() == f"v{version.pk}: Active"
