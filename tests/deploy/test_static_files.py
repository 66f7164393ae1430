"""Production serves collected static files under hashed names, cached for ever (whitenoise)."""

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import REPO

PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def _static_storage(debug: str) -> str:
    env = {**os.environ, "DEBUG": debug, "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.STORAGES['staticfiles'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_production_settings_hash_static_files_and_development_does_not():
    assert PRODUCTION_STORAGE in _static_storage("false")
    assert PRODUCTION_STORAGE not in _static_storage("true")


@pytest.mark.django_db
def test_a_collected_file_is_served_under_its_hashed_name_with_a_far_future_immutable_header(
    client, settings, tmp_path
):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    call_command("collectstatic", "--noinput", verbosity=0)
    hashed = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]["css/site.css"]
    assert hashed.startswith("css/site.") and hashed != "css/site.css"

    # Pages name the hashed file (the client's middleware, whitenoise's included, start with these settings).
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert f"/static/{hashed}" in page.content.decode()

    response = client.get(f"/static/{hashed}")
    assert response.status_code == 200
    cache_control = response["Cache-Control"]
    assert "immutable" in cache_control
    assert int(cache_control.split("max-age=")[1].split(",")[0]) >= 365 * 24 * 3600
    # The unhashed name is still served, but only for a short while: it can change with the next deploy.
    plain = client.get("/static/css/site.css")
    assert plain.status_code == 200 and "immutable" not in plain["Cache-Control"]
