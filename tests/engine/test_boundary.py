"""The engine's import boundary: every module of recommender/engine, training included, loads no Django."""

import pkgutil
import subprocess
import sys

import recommender.engine
from tests.conftest import REPO

ENGINE_MODULES = sorted(f"recommender.engine.{m.name}" for m in pkgutil.iter_modules(recommender.engine.__path__))


def test_the_engine_has_the_modules_that_train():
    assert {"recommender.engine.model", "recommender.engine.training"} <= set(ENGINE_MODULES)


def test_importing_every_engine_module_in_a_fresh_interpreter_loads_no_django():
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in ENGINE_MODULES)
        + "roots = ('django', 'celery', 'redis')\n"
        + "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in roots)))"
    )
    env_free_of_django = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env_free_of_django, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
