"""Fault runs: the whole deployment under load while something breaks, each fault with its expectation.

    flock /tmp/bench.lock .venv/bin/python bench/fault_bench.py [--run redis web-worker ...] [--users 20]

Setup as bench/proof_bench.py (a private redis-server, a scratch database with ml-latest-small and
one trained version, every Procfile process in its own process group). Then, each under the
simulated users of bench/proof_users.py:

  redis       Redis frozen (SIGSTOP) for 10 s. Expected: no failed request.
  web-worker  one gunicorn worker SIGKILLed; gunicorn starts another. Expected: no failed request
              but those in flight on that worker when it died (a connection error within 1 s).
  worker      the Celery worker's process group SIGKILLed, started again 1 s later (as its
              systemd unit or bin/supervise does). Expected: no failed request; after the
              restart a rating's list refresh still reaches Redis.
  trainer     "Retrain now", then the trainer's child (the process running the training)
              SIGKILLed at its second epoch. Expected: the task is redelivered, the retrain
              completes, one new version is live; no failed request.
  corrupt     the active version's factors file corrupted, then restored. Expected: /healthz
              200 "degraded" "unloadable" (and 503 with ?strict=1) while corrupt, "ok" within 2 s
              of the restore; picks still answer; each web process logs the failure once.
  revoke      a token used by the API (remembered in Redis), Redis frozen, the token revoked and
              a user's password changed, Redis resumed. Expected: the token and the other
              session are refused from the revoke on; the seconds until each holds are printed.

A failure is "unexpected" unless the fault's expectation allows it. The run ends with the count of
unexpected failures (0 is the target) and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench import proof_bench  # noqa: E402 (after the path is set)
from bench.api_bench import psql, site_prepare  # noqa: E402
from bench.proof_bench import _env, _load, _loadavg, _versions, retrain_to_interrupt, stack_up  # noqa: E402
from bench.proof_stack import Stack, wait_for_log  # noqa: E402
from bench.proof_users import Recorder, failures, summary  # noqa: E402
from recommender import cache_keys  # noqa: E402
from tests.redis_server import private_redis  # noqa: E402

VAR = proof_bench.VAR
PASSWORD = "fault-bench-Pw!93-long"


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _report(name: str, recorder: Recorder, started: float, stopped: float, allowed) -> int:
    """Print the run's table and its failures; returns how many were not allowed by `allowed(hit)`."""
    hits = recorder.between(started, stopped)
    bad = failures(hits)
    unexpected = [h for h in bad if not allowed(h)]
    print(f"\n== {name}: {proof_bench.USERS} users, {stopped - started:.0f} s, load average {_loadavg()}")
    print(summary(hits, stopped - started))
    print(f"failed requests: {len(bad)} of {len(hits)}, unexpected: {len(unexpected)}")
    for hit in unexpected[:10]:
        print(f"  unexpected: {hit.action} {hit.detail}")
    return len(unexpected)


def _timed_load(ctx: dict, name: str, seconds: float, events: dict[float, object]) -> tuple[Recorder, float, float]:
    """Load for `seconds`, calling each event (a function) once at its second."""
    recorder = Recorder()
    done: set[float] = set()

    def until(t0: float) -> bool:
        elapsed = time.monotonic() - t0
        for at, event in sorted(events.items()):
            if elapsed >= at and at not in done:
                done.add(at)
                event()
        return elapsed >= seconds

    started, stopped, _ = _load(ctx["base"], ctx["movies"], recorder, name, until)
    return recorder, started, stopped


def run_redis(ctx: dict) -> int:
    marks: dict[str, float] = {}

    def freeze() -> None:
        os.kill(ctx["redis_pid"], signal.SIGSTOP)
        marks["stop"] = time.monotonic()

    def thaw() -> None:
        os.kill(ctx["redis_pid"], signal.SIGCONT)
        marks["cont"] = time.monotonic()

    recorder, started, stopped = _timed_load(ctx, "redis", 30, {10: freeze, 20: thaw})
    frozen = recorder.between(marks["stop"], marks["cont"])
    print(f"\nRedis frozen 10 s: {len(frozen)} requests meanwhile, {len(failures(frozen))} failed")
    return _report("redis", recorder, started, stopped, allowed=lambda hit: False)


def run_web_worker(ctx: dict) -> int:
    stack: Stack = ctx["stack"]
    marks: dict[str, float] = {}

    def kill() -> None:
        workers = _children(stack.procs["web"].pid)
        os.kill(workers[0], signal.SIGKILL)
        marks["kill"] = time.monotonic()
        print(f"killed gunicorn worker {workers[0]} (of {workers})", flush=True)

    recorder, started, stopped = _timed_load(ctx, "web-worker", 30, {10: kill})
    after = _children(stack.procs["web"].pid)
    print(f"gunicorn workers afterwards: {after}")

    def in_flight(hit) -> bool:
        return marks["kill"] - 30 <= hit.started <= marks["kill"] and "Connection" in hit.detail

    unexpected = _report("web-worker", recorder, started, stopped, allowed=in_flight)
    return unexpected + (0 if len(after) == 2 else 1)


def run_worker(ctx: dict) -> int:
    stack: Stack = ctx["stack"]

    def kill_and_restart() -> None:
        stack.kill("worker")
        time.sleep(1)
        stack.start("worker")

    recorder, started, stopped = _timed_load(ctx, "worker", 40, {10: kill_and_restart})
    wait_for_log(stack, "worker", " ready.", timeout=120)
    unexpected = _report("worker", recorder, started, stopped, allowed=lambda hit: False)
    ok = _rating_refreshes_list(ctx)
    print(f"after the restart, a rating's list refresh reaches Redis: {'yes' if ok else 'NO'}")
    return unexpected + (0 if ok else 1)


def _rating_refreshes_list(ctx: dict) -> bool:
    """Rate through the API as an observer and see that user's stored list change in Redis."""
    import redis

    user_id, token = next(iter(ctx["tokens"].items()))
    client = redis.Redis.from_url(ctx["lists_url"])
    live = client.get(cache_keys.ListsKeys(proof_bench.PREFIX).live())
    key = cache_keys.ListsKeys(proof_bench.PREFIX).of_version(int(live)) if live else None
    before = client.hget(key, str(user_id)) if key else None
    movie = ctx["movies"][-1]
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.put(f"{ctx['base']}/api/me/ratings/{movie}", json={"value": 1}, headers=headers, timeout=30)
    if response.status_code != 200:
        print(f"  rating refused: {response.status_code} {response.text[:200]}")
        return False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if key and client.hget(key, str(user_id)) != before:
            return True
        time.sleep(0.2)
    return False


def run_trainer(ctx: dict) -> int:
    from recommender.models import ModelVersion

    stack: Stack = ctx["stack"]
    before = {pk for pk, _, _ in _versions()}
    previous = next(pk for pk, _, active in _versions() if active)
    marks: dict[str, float] = {}
    recorder = Recorder()

    def until(t0: float) -> bool:
        now = time.monotonic()
        running = retrain_to_interrupt(ctx["base"], marks, t0, now, before)
        if running is not None:
            children = _children(stack.procs["trainer"].pid)
            if children:
                os.kill(children[0], signal.SIGKILL)
                marks["killed"] = now
                print(f"killed the trainer's child {children[0]} at epoch {running.epoch}", flush=True)
        active = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
        if "live" not in marks and active not in (None, previous):
            marks["live"] = now
        if now - t0 > 900:
            return True
        return "live" in marks and now - marks["live"] >= 5

    started, stopped, _ = _load(ctx["base"], ctx["movies"], recorder, "trainer", until)
    after = _versions()
    new = [(pk, state, active) for pk, state, active in after if pk not in before]
    print(f"versions after: {after}")
    for key in ("retrain", "killed", "live"):
        print(f"  {key}: {marks[key] - started:.0f} s into the run" if key in marks else f"  {key}: never")
    unexpected = _report("trainer", recorder, started, stopped, allowed=lambda hit: False)
    published = [v for v in new if v[2]]
    ok = "killed" in marks and len(published) == 1
    print(f"the retrain completed after its child was killed, one new version live: {'yes' if ok else 'NO'}")
    return unexpected + (0 if ok else 1)


def run_corrupt(ctx: dict) -> int:
    from recommender.models import ModelVersion

    stack: Stack = ctx["stack"]
    version = ModelVersion.objects.get(is_active=True)
    path = Path(version.artifact_path)
    keep = VAR / "good-factors.npz"
    shutil.copy(path, keep)
    base = ctx["base"]
    problems = 0
    logged_before = stack.log_text("web").count("cannot be loaded")
    data = bytearray(path.read_bytes())
    data[200:264] = b"\x00" * 64
    path.write_bytes(bytes(data))
    corrupted = time.monotonic()
    degraded_after = None
    while time.monotonic() - corrupted < 10:
        body = requests.get(base + "/healthz", timeout=10).json()
        if body.get("model") == "unloadable":
            degraded_after = time.monotonic() - corrupted
            break
        time.sleep(0.1)
    time.sleep(3)  # a few more seconds of retries: the log must not grow by one line per second
    health = requests.get(base + "/healthz", timeout=10)
    strict = requests.get(base + "/healthz?strict=1", timeout=10)
    token = next(iter(ctx["tokens"].values()))
    picks = requests.get(base + "/api/me/picks", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    logged = stack.log_text("web").count("cannot be loaded") - logged_before
    shutil.copy(keep, path)
    restored = time.monotonic()
    healed_after = None
    while time.monotonic() - restored < 10:
        if requests.get(base + "/healthz", timeout=10).json().get("model") == "ok":
            healed_after = time.monotonic() - restored
            break
        time.sleep(0.1)
    print("\n== corrupt: the active version's file corrupted, then restored")
    print(
        f"  /healthz says unloadable {degraded_after:.1f} s after" if degraded_after is not None else "  never degraded"
    )
    print(f"  /healthz {health.status_code} {health.json()}; ?strict=1 {strict.status_code}")
    print(f"  picks while corrupt: {picks.status_code}, personal: {[p['personal'] for p in picks.json()[:1]]}")
    print(f"  failure lines logged by the web processes in ~4 s: {logged} (2 workers: once each expected)")
    print(
        f"  /healthz ok again {healed_after:.1f} s after the restore" if healed_after is not None else "  never healed"
    )
    body = health.json()
    problems += not (health.status_code == 200 and body.get("status") == "degraded")
    problems += strict.status_code != 503
    problems += picks.status_code != 200
    problems += not (1 <= logged <= 2)
    problems += healed_after is None or healed_after > 2.5
    print(f"unexpected: {problems}")
    return problems


def _login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=30)
    data = {"csrfmiddlewaretoken": session.cookies["csrftoken"], "username": username, "password": password}
    response = session.post(base + "/accounts/login/", data=data, timeout=30, headers={"Referer": base})
    assert response.url.rstrip("/") == base, response.url
    return session


def run_revoke(ctx: dict) -> int:
    from django.contrib.auth.models import User

    from accounts.tokens import api_token_create, api_tokens_revoke
    from config import redis_breaker

    base = ctx["base"]
    user = User.objects.create_user("fault-revoke", password=PASSWORD)
    new = api_token_create(user=user, name="fault bench")
    other = _login(base, "fault-revoke", PASSWORD)
    headers = {"Authorization": f"Bearer {new.secret}"}
    for _ in range(5):  # every web worker remembers the token and the session's user
        assert requests.get(base + "/api/me/ratings", headers=headers, timeout=30).status_code == 200
        assert other.get(base + "/accounts/password_change/", timeout=30, allow_redirects=False).status_code == 200
    os.kill(ctx["redis_pid"], signal.SIGSTOP)
    time.sleep(1)
    from django.core.cache import cache

    cache.get("fault-bench")  # this process notices the pause, as a web process would
    from accounts.models import ApiToken

    api_tokens_revoke(tokens=ApiToken.objects.filter(pk=new.token.pk))
    user.set_password(PASSWORD + "-changed")
    user.save()
    changed = time.monotonic()
    time.sleep(2)
    os.kill(ctx["redis_pid"], signal.SIGCONT)
    redis_breaker.reset()
    resumed = time.monotonic()
    token_ok: list[float] = []
    session_ok: list[float] = []
    while time.monotonic() - resumed < 70:
        now = time.monotonic()
        if requests.get(base + "/api/me/ratings", headers=headers, timeout=30).status_code == 200:
            token_ok.append(now - changed)
        page = other.get(base + "/accounts/password_change/", timeout=30, allow_redirects=False)
        if page.status_code == 200:
            session_ok.append(now - changed)
        time.sleep(0.1)
    print("\n== revoke: token revoked and password changed while Redis was frozen; checked for 70 s after it resumed")
    for name, accepted in (("revoked token", token_ok), ("other session", session_ok)):
        holds = f"{max(accepted):.1f} s after the change" if accepted else "from the change on"
        print(f"  {name}: accepted {len(accepted)} times; refused {holds}")
    return (len(token_ok) > 0) + (len(session_ok) > 0)


RUNS = {
    "redis": run_redis,
    "web-worker": run_web_worker,
    "worker": run_worker,
    "corrupt": run_corrupt,
    "revoke": run_revoke,
    "trainer": run_trainer,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", nargs="+", choices=[*RUNS, "all"], default=["all"], help="which faults (default: all)")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/postgres", help="database server")
    parser.add_argument("--port", type=int, default=8769, help="gunicorn's port on 127.0.0.1")
    parser.add_argument("--users", type=int, default=20, help="simulated users during each fault")
    args = parser.parse_args()
    proof_bench.USERS = args.users
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    print(f"Fault runs {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {_loadavg()}, {os.cpu_count()} cores")
    results: dict[str, int] = {}
    with private_redis(VAR) as (redis_proc, redis_url):
        env = _env(args, redis_url)
        stack = Stack(REPO / "Procfile", env, REPO, VAR / "logs")
        try:
            site_prepare(args.database, proof_bench.DB_NAME, env, train=[], static=True, quiet=True)
            ctx = stack_up(args, stack, redis_proc.pid, redis_url)
            for name in RUNS if "all" in args.run else args.run:
                try:
                    results[name] = RUNS[name](ctx)
                except Exception as exc:  # a run that breaks counts as one unexpected failure
                    print(f"{name}: the run broke: {type(exc).__name__}: {exc}")
                    results[name] = 1
                sys.stdout.flush()
        finally:
            stack.stop_all()
            from django.db import connections

            connections.close_all()
            psql(args.database, f"DROP DATABASE IF EXISTS {proof_bench.DB_NAME}")
    print("\n" + ", ".join(f"{name}: {n} unexpected" for name, n in results.items()))
    total = sum(results.values())
    print(f"unexpected failures in all: {total}")
    shutil.rmtree(VAR / "models", ignore_errors=True)
    sys.exit(0 if results and total == 0 else 1)


if __name__ == "__main__":
    main()
