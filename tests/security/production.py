"""Run code under the production settings (config.settings, DEBUG off) in a process of its own."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

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
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "movies.example.org",
        }
    )
    env.update(overrides)
    return env


def run(args: list[str], **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=production_env(**overrides), capture_output=True, text=True, timeout=120)


def run_python(code: str, **overrides: str) -> subprocess.CompletedProcess:
    """`code` after django.setup(); what it prints is the answer."""
    return run([sys.executable, "-c", f"import django; django.setup()\n{code}"], **overrides)
