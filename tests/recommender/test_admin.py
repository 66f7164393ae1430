"""The model-version admin: retrain now, progress, cancel, activate, roll back; who may do it."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from recommender import services
from recommender.models import ModelVersion
from recommender.services.versions import PROTOCOLS_PENDING
from tests.trained import install

pytestmark = pytest.mark.django_db

FAST = {"epochs": 3, "embedding_dim": 8, "rating_dim": 4, "batch_size": 64, "group_size": 64}


@pytest.fixture
def operator(client):
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_modelversion"), Permission.objects.get(codename="retrain_modelversion")
    )
    client.force_login(user)
    return client


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(user)
    return client


@pytest.fixture
def no_dispatch(settings, mocker):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return mocker.patch("recommender.tasks.train_version.delay")


def test_retrain_now_queues_a_version_and_shows_its_page(operator, no_dispatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("admin:recommender_modelversion_retrain"))
    version = ModelVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:recommender_modelversion_change", args=[version.pk])
    assert version.state == ModelVersion.State.QUEUED
    no_dispatch.assert_called_once_with(version.pk)


def test_a_second_retrain_says_already_training(operator, no_dispatch):
    operator.post(reverse("admin:recommender_modelversion_retrain"))
    response = operator.post(reverse("admin:recommender_modelversion_retrain"), follow=True)
    assert ModelVersion.objects.count() == 1
    assert "Already training: v" in response.content.decode()


def test_retrain_needs_a_post(operator):
    assert operator.get(reverse("admin:recommender_modelversion_retrain")).status_code == 405


def test_staff_without_the_permission_cannot_retrain_cancel_or_activate(viewer, two_tastes, trained_run):
    version = install(trained_run)
    assert viewer.post(reverse("admin:recommender_modelversion_retrain")).status_code == 403
    assert viewer.post(reverse("admin:recommender_modelversion_cancel", args=[version.pk])).status_code == 403
    assert viewer.post(reverse("admin:recommender_modelversion_activate", args=[version.pk])).status_code == 403
    assert ModelVersion.objects.count() == 1


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.post(reverse("admin:recommender_modelversion_retrain"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not ModelVersion.objects.exists()


def test_progress_reports_state_epoch_and_history(viewer, two_tastes, trained_run):
    version = install(trained_run)
    data = viewer.get(reverse("admin:recommender_modelversion_progress", args=[version.pk])).json()
    assert data["state"] == "active" and data["running"] is False
    assert data["epoch"] == len(data["history"]) >= 1
    assert {"loss", "val_rmse", "val_ndcg"} <= set(data["history"][0])
    assert data["step"] == ""  # nothing left running
    assert data["text"].startswith("Trained in") and data["share"] == 1 and data["title"] == str(version)


@pytest.mark.slow
def test_progress_names_the_step_after_the_epochs_while_it_runs(viewer, two_tastes):
    version = services.version_create(overrides=FAST)
    seen = []

    def on_phase(line):
        data = viewer.get(reverse("admin:recommender_modelversion_progress", args=[version.pk])).json()
        seen.append((line, data["step"], data["running"]))

    services.train_version(version=version, on_phase=on_phase)
    assert [line for line, _, _ in seen] == ["building the movie map (t-SNE) and clusters ..."]
    assert all(step == line and running for line, step, running in seen)
    version.refresh_from_db()
    assert version.step == ""


def test_the_version_page_shows_progress_the_curves_and_the_comparison(operator, two_tastes, trained_run):
    first = install(trained_run)
    second = install(trained_run, publish=False)
    services.version_ready(version=second)
    page = operator.get(reverse("admin:recommender_modelversion_change", args=[second.pk])).content.decode()
    assert "<svg" in page and "val RMSE" in page
    assert f"active v{first.pk}" in page
    assert reverse("admin:recommender_modelversion_activate", args=[second.pk]) in page


def test_the_active_version_is_compared_with_the_one_before_it(operator, two_tastes, trained_run):
    first = install(trained_run)
    second = install(trained_run)
    services.versions.version_update(first, metrics={**first.metrics, "val_rmse": 0.9})
    page = operator.get(reverse("admin:recommender_modelversion_change", args=[second.pk])).content.decode()
    assert f"previous v{first.pk}" in page
    assert "<td>0.9000</td>" in page  # the previous version's figure, not a dash
    assert "<td>RMSE, protocol R</td>" not in page  # neither has it: no row of dashes


def test_a_finished_version_reads_its_passes_with_no_empty_error_box(operator, two_tastes, trained_run):
    version = install(trained_run)
    page = operator.get(reverse("admin:recommender_modelversion_change", args=[version.pk])).content.decode()
    assert '<p class="errornote" data-field="error" hidden></p>' in page
    assert "of at most 0" not in page
    ranking = sum(row["phase"] == "ranking" for row in version.history)
    assert f"Ranking pass {ranking} epochs of at most {version.plan['epochs']}" in page
    assert f'<h2 id="version-title">{version}</h2>' in page


def test_the_version_page_says_when_the_protocol_figures_are_still_to_come(operator, two_tastes, trained_run):
    version = install(trained_run)
    services.versions.version_update(version, metrics={**version.metrics, "protocols": PROTOCOLS_PENDING})
    page = operator.get(reverse("admin:recommender_modelversion_change", args=[version.pk])).content.decode()
    assert f"Protocols R and T: {PROTOCOLS_PENDING}" in page


def test_cancel_stops_a_queued_version(operator, no_dispatch):
    operator.post(reverse("admin:recommender_modelversion_retrain"))
    version = ModelVersion.objects.get()
    operator.post(reverse("admin:recommender_modelversion_cancel", args=[version.pk]))
    version.refresh_from_db()
    assert version.state == ModelVersion.State.CANCELLED


def test_roll_back_activates_the_older_version(operator, two_tastes, trained_run):
    first, second = install(trained_run), install(trained_run)
    assert second.is_active
    operator.post(reverse("admin:recommender_modelversion_activate", args=[first.pk]))
    first.refresh_from_db()
    assert first.is_active


def test_a_corrupt_artefact_is_refused_with_the_reason_and_the_active_version_stays(operator, two_tastes, trained_run):
    first, second = install(trained_run), install(trained_run)
    Path(first.artifact_path).write_bytes(b"not a factors file")
    response = operator.post(reverse("admin:recommender_modelversion_activate", args=[first.pk]), follow=True)
    assert "was not activated" in response.content.decode()
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_active
    assert "not activated" in first.error


def test_the_nightly_schedule_exists_and_names_the_retrain_task():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Retrain the recommender")
    assert task.task == "recommender.retrain" and task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("0", "3")
