"""Run code under the production settings (config.settings, DEBUG off) in a process of its own."""

from __future__ import annotations

import atexit
import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

from tests.conftest import REPO

# Variables the test run sets that production settings must not inherit (the browser tests set
# DJANGO_ALLOW_ASYNC_UNSAFE for Playwright, which check --deploy rightly reports).
_DROPPED = {
    "DEBUG",
    "SECRET_KEY",
    "HTTPS",
    "ALLOWED_HOSTS",
    "TRUST_X_FORWARDED_PROTO",
    "HSTS_PRELOAD",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def production_env(**overrides: str) -> dict[str, str]:
    env = _base_env()
    env["STATIC_ROOT"] = _collected_static_root()
    env.update(overrides)
    return env


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "movies.example.org",
        }
    )
    return env


@functools.cache
def _collected_static_root() -> str:
    # Production pages name static files from collectstatic's manifest: a clean checkout has none,
    # so collect once per test run into a folder of its own (never the developer's var/staticfiles).
    root = tempfile.mkdtemp(prefix="production-static-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    env = _base_env() | {"STATIC_ROOT": root}
    args = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(args, cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    return root


def run(args: list[str], **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=production_env(**overrides), capture_output=True, text=True, timeout=120)


def run_python(code: str, **overrides: str) -> subprocess.CompletedProcess:
    """`code` after django.setup(); what it prints is the answer."""
    return run([sys.executable, "-c", f"import django; django.setup()\n{code}"], **overrides)
