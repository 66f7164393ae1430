"""The deployment's processes, started from the Procfile, for the proof runs.

Each Procfile line runs in its own process group (bash expands ${PORT:-8000} and
the like, as honcho does), so one process type can be killed whole and started
again while the others keep running. Output goes to one log file per process.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

_LINE = re.compile(r"^([A-Za-z0-9_]+):\s*(.+)$")


def procfile_commands(path: Path) -> dict[str, str]:
    """{process name: command} from a Procfile; comments and blank lines skipped."""
    commands = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: not a 'name: command' line: {line!r}")
        commands[match.group(1)] = match.group(2)
    return commands


class Stack:
    def __init__(self, procfile: Path, env: dict[str, str], cwd: Path, logs: Path) -> None:
        self.commands = procfile_commands(procfile)
        self.env = env
        self.cwd = cwd
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {self.commands[name]}"],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill below takes its children too
        )
        self.procs[name] = proc
        return proc

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=60)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(name)

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def wait_for_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def wait_for_log(stack: Stack, name: str, text: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in stack.log_text(name):
            return
        if name in stack.dead():
            raise RuntimeError(f"{name} exited:\n{stack.log_text(name)[-3000:]}")
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not log {text!r} within {timeout:.0f} s")
