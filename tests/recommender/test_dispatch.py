"""recommender.dispatch, the one place that sends the recommender's work to Celery."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_web_process_finds_the_tasks_it_sends_though_neither_it_nor_the_services_import_them():
    code = (
        "import sys, django; django.setup(); "
        "from django.urls import get_resolver; get_resolver().url_patterns; "
        "import recommender.services, recommender.dispatch, recommender.admin; "
        "assert 'recommender.tasks' not in sys.modules, 'imported recommender.tasks'; "
        "print(recommender.dispatch._task('recommender.train_version').name)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "recommender.train_version"
