"""Retrain, progress, cancel and activate: who may, who may not (a table of roles by views)."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from recommender.models import ModelVersion

pytestmark = pytest.mark.django_db

# role: (is_staff, is_superuser, permission codenames); None is the anonymous visitor.
ROLES = {
    "anonymous": None,
    "plain user": (False, False, ["view_modelversion", "retrain_modelversion"]),  # perms, but no admin
    "staff without permissions": (True, False, []),
    "staff who may view": (True, False, ["view_modelversion"]),
    "staff who may retrain": (True, False, ["view_modelversion", "retrain_modelversion"]),
    "superuser": (True, True, []),
}
OPERATORS = {"staff who may retrain", "superuser"}
VIEWERS = OPERATORS | {"staff who may view"}


def _retrain(client: Client) -> tuple[int, str, bool]:
    response = client.post(reverse("admin:recommender_modelversion_retrain"))
    return response.status_code, response.get("Location", ""), ModelVersion.objects.filter(state="queued").exists()


def _progress(client: Client) -> tuple[int, str, bool]:
    version = ModelVersion.objects.create(preset="default", state="training", epoch=2)
    response = client.get(reverse("admin:recommender_modelversion_progress", args=[version.pk]))
    shown = response.status_code == 200 and response.json()["epoch"] == 2
    return response.status_code, response.get("Location", ""), shown


def _cancel(client: Client) -> tuple[int, str, bool]:
    version = ModelVersion.objects.create(preset="default", state="queued")
    response = client.post(reverse("admin:recommender_modelversion_cancel", args=[version.pk]))
    version.refresh_from_db()
    return response.status_code, response.get("Location", ""), version.state == "cancelled"


def _activate(client: Client) -> tuple[int, str, bool]:
    # No file behind it: an allowed activation is tried and refused for that, which leaves its mark.
    version = ModelVersion.objects.create(preset="default", state="ready", artifact_path="/nonexistent/v1")
    response = client.post(reverse("admin:recommender_modelversion_activate", args=[version.pk]))
    version.refresh_from_db()
    return response.status_code, response.get("Location", ""), version.error.startswith("not activated")


VIEWS = {"retrain": (_retrain, OPERATORS), "progress": (_progress, VIEWERS), "cancel": (_cancel, OPERATORS)}
VIEWS["activate"] = (_activate, OPERATORS)


def _client_as(role: str) -> Client:
    client = Client()
    spec = ROLES[role]
    if spec is not None:
        is_staff, is_superuser, codenames = spec
        user = User.objects.create_user(role.replace(" ", "-"), is_staff=is_staff, is_superuser=is_superuser)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", VIEWS)
def test_only_roles_with_the_permission_may_use_the_view(view, role):
    call, allowed = VIEWS[view]
    status, location, done = call(_client_as(role))
    if role in allowed:
        assert status in (200, 302) and "/admin/login/" not in location, (status, location)
        assert done, f"{role} was allowed {view} but it did not happen"
    else:
        assert status == 403 or (status == 302 and location.startswith("/admin/login/")), (status, location)
        assert not done, f"{role} was refused {view} but it happened"
