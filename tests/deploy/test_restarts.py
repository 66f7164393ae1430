"""A process of the Procfile that dies is restarted alone: bin/supervise under make stack, and the
systemd units of deploy/ (issue 15, item 10; tests/deploy/test_stack.py kills the real worker)."""

import configparser
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

UNITS = REPO / "deploy" / "systemd"


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keep the keys' case
    unit.read(UNITS / f"movies-{name}.service")
    return unit


def test_every_procfile_process_has_a_unit_that_restarts_it_alone():
    target = (UNITS / "movies.target").read_text()
    for name, command in _procfile().items():
        unit = _unit(name)
        assert unit["Service"]["Restart"] == "always", name
        assert unit["Unit"]["PartOf"] == "movies.target", name
        assert f"movies-{name}.service" in target
        # The same niceness, program and options as the Procfile, the venv's binary and the variables aside.
        niceness = re.match(r"nice -n (\d+) ", command)
        assert unit["Service"].get("Nice", "0") == (niceness.group(1) if niceness else "0"), name
        command = command.removeprefix(niceness.group(0)) if niceness else command
        program = command.split()[0]
        start = unit["Service"]["ExecStart"]
        assert start.startswith(f"/srv/movies/.venv/bin/{program} "), start
        fixed = [w for w in command.split()[1:] if "$" not in w and not w.startswith("0.0.0.0")]
        assert all(word in start.split() for word in fixed), (name, fixed, start)


def test_the_web_unit_listens_on_the_loopback_only():
    start = _unit("web")["Service"]["ExecStart"]
    assert "--bind 127.0.0.1:" in start and "0.0.0.0" not in start


def _started(log: Path, name: str) -> list[int]:
    return [int(p) for p in re.findall(rf"{re.escape(name)} +\| started with pid (\d+)", log.read_text())]


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_supervise_restarts_a_killed_process_and_leaves_the_others_running(tmp_path):
    sleeper = f"{sys.executable} -c 'import time; print(\"up\", flush=True); time.sleep(600)'"
    (tmp_path / "Procfile").write_text(f"web: {sleeper}\nworker: {sleeper}\n")
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "bin" / "supervise"), "-f", str(tmp_path / "Procfile")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            _wait(lambda: _started(log, "web.1") and _started(log, "worker.1"))
            (web,), (worker,) = _started(log, "web.1"), _started(log, "worker.1")
            os.kill(worker, signal.SIGKILL)
            _wait(lambda: len(_started(log, "worker.1")) == 2)
            assert _started(log, "worker.1")[1] != worker
            os.kill(web, 0)  # still the same web process: untouched
            assert _started(log, "web.1") == [web]
            assert proc.poll() is None
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
            proc.wait(timeout=30)
    text = log.read_text()
    assert "worker.1" in text and "stopped (rc=-9)" in text
    assert subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode != 0
