"""Code run in a fresh Python at the repository's root: what the import-boundary tests look at."""

import os
import subprocess
import sys

from tests.conftest import REPO

# What a web process does before it serves: Django set up, every URL pattern resolved (and so the
# views, the API and admin imported).
_WEB_PROCESS = "import django; django.setup(); from django.urls import get_resolver; get_resolver().url_patterns\n"


def run_fresh(code: str, *, web_process: bool = False, env: dict[str, str] | None = None) -> str:
    """Run code in a new interpreter and return what it printed; an error fails the test with its
    stderr. web_process: after starting as a web process does; env: the whole environment (default:
    this one)."""
    if env is None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    script = (_WEB_PROCESS if web_process else "") + code
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def packages_loaded_by(
    modules: list[str], *, among: tuple[str, ...], web_process: bool = False, env: dict[str, str] | None = None
) -> list[str]:
    """The modules of the packages named in `among` that importing `modules` loads in a fresh interpreter."""
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in modules)
        + f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {among!r})))"
    )
    out = run_fresh(code, web_process=web_process, env=env)
    return out.split(",") if out else []
