"""`make stack` (bin/stack): the whole Procfile, DEBUG off, comes up, serves, brings a killed worker back,
stops on Ctrl-C.

From nothing: the test's own database (created by the script), a tiny generated MovieLens
sample imported and a first model trained, a private redis-server. About 40 s.
"""

import os
import re
import signal
import subprocess
import time
import uuid

import pytest
import requests

from movies.synthetic import write_movielens
from tests.conftest import REPO, need
from tests.redis_server import private_redis

pytestmark = pytest.mark.integration

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def _psql(sql: str) -> str:
    result = subprocess.run(["psql", f"{PG_SERVER}/postgres", "-tAc", sql], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def stack_db():
    need(subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0, "PostgreSQL on 127.0.0.1:5432")
    name = f"stack_test_{uuid.uuid4().hex[:8]}"
    yield name
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _wait_for(url: str, proc: subprocess.Popen, log, timeout: float = 300) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"bin/stack exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
        try:
            return requests.get(url, timeout=10, headers={"X-Request-ID": "stack-test-1"})
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its workers still booting
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def test_make_stack_comes_up_from_nothing_serves_pages_and_stops_on_ctrl_c(stack_db, tmp_path, closed_port):
    write_movielens(tmp_path / "movielens", scale=0.0002)
    log = tmp_path / "stack.log"
    with private_redis(tmp_path) as (_, redis_url), log.open("wb") as out:
        env = {
            **os.environ,
            "STACK_DB": stack_db,
            "STACK_REDIS_SERVER": redis_url.rsplit("/", 1)[0],
            "VAR_DIR": str(tmp_path / "var"),
            "MOVIELENS": str(tmp_path / "movielens"),
            "PORT": str(closed_port),
            # The tutorial preset: 3 epochs. The stack is under test here, not the model.
            "RECOMMENDER_PRESET": "tutorial",
            "RECOMMENDER_PROTOCOL_MAX_RATINGS": "0",
            # The caller's settings must not leak in: the stack picks its own.
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/never",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        proc = subprocess.Popen(
            [str(REPO / "bin" / "stack")], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{closed_port}"
            health = _wait_for(f"{base}/healthz", proc, log)
            assert health.status_code == 200, health.text
            assert health.json()["model_version"] is not None
            assert health.headers["X-Request-ID"] == "stack-test-1"
            home = requests.get(f"{base}/", timeout=30)
            assert home.status_code == 200
            # DEBUG off: the page names hashed static files, served from the collected ones.
            css = re.search(r"/static/(css/site\.[0-9a-f]{12}\.css)", home.text)
            assert css, "no hashed stylesheet in the home page"
            assert "immutable" in requests.get(f"{base}/static/{css.group(1)}", timeout=30).headers["Cache-Control"]
            assert requests.get(f"{base}/this-page-is-missing/", timeout=30).status_code == 404
            _kill_the_worker_and_see_it_return(log, base)
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(timeout=60)
            finally:
                if subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode == 0:
                    os.killpg(proc.pid, signal.SIGKILL)
                    pytest.fail(f"processes of the stack outlived Ctrl-C by 60 s:\n{log.read_text()[-3000:]}")
    text = log.read_text(errors="replace")
    # Every process ran, and each logged in the one format; the web's access line carries the caller's id.
    for name in ("web.1", "worker.1", "trainer.1", "beat.1"):
        assert f"{name} " in text, f"{name} never started:\n{text[-3000:]}"
    line = r"{} +\| \S+ \S+ {}"  # honcho's prefix, then the date and time of the one format
    assert re.search(line.format("web.1", r"INFO gunicorn\.access \[req=stack-test-1\] .*GET /healthz"), text), text
    assert re.search(line.format("worker.1", r"INFO celery\.apps\.worker \[-\] .* ready\."), text), text
    not_found = r"WARNING django\.request \[req=\w+\] Not Found: /this-page-is-missing/"
    assert re.search(line.format("web.1", not_found), text), text
    assert "stopped (rc=" in text
    assert "Control socket listening" not in text  # config/gunicorn.py turns it off


def _kill_the_worker_and_see_it_return(log, base: str) -> None:
    """A dead process is restarted alone (bin/supervise); the site keeps serving meanwhile."""
    ready = r"worker\.1 +\| \S+ \S+ INFO celery\.apps\.worker \[-\] .* ready\."
    deadline = time.monotonic() + 120
    while not re.search(ready, log.read_text(errors="replace")):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    (pid,) = [int(p) for p in re.findall(r"worker\.1 +\| started with pid (\d+)", log.read_text())]
    os.kill(pid, signal.SIGKILL)
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
    while len(re.findall(ready, log.read_text(errors="replace"))) < 2:
        assert time.monotonic() < deadline + 120, log.read_text()[-3000:]
        time.sleep(0.5)
    assert requests.get(f"{base}/", timeout=30).status_code == 200
