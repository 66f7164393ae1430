"""Proof runs: the whole deployment (the Procfile's processes) under 50 simulated users, and faults.

    flock /tmp/bench.lock .venv/bin/python bench/proof_bench.py [--run load|retrain|redis|trainer ...]

Setup, once per call:
1. A private redis-server on a free port (the shared one on 6379 is never stopped),
   a scratch PostgreSQL database, proof_bench, with ml-latest-small imported and one
   version trained (`manage.py train`), a staff account, and 5 "observer" MovieLens
   users who never rate and read their picks through the API with bearer tokens.
2. Every process of the Procfile (web: gunicorn 2 workers, worker, trainer, beat),
   started from the Procfile's own command lines, each in its own process group.
Runs (each with 50 users who sign up through the site, then browse, search, open
movies, rate them with the site's POST and CSRF token, and read picks on the home
page and from the API; a user pauses 0.25-0.75 s between requests):
  load     60 s; target under 1% failed requests.
  retrain  the staff account presses admin's "Retrain now"; the load runs until the
           new version is live and 10 s more. Target: no failed request, and every
           picks response an observer read names a version whose lists were complete
           (a watcher polls Redis every 20 ms: whenever `live` names a version, that
           version's hash must hold every user's list) and equals that version's
           published list for the observer.
  redis    60 s; Redis frozen (SIGSTOP) from 20 s to 40 s. Target: no failed request;
           latency before, during and after is printed.
  trainer  "Retrain now", then the trainer's whole process group SIGKILLed after its
           second epoch and the trainer started again 5 s later. Target: the retrain
           completes and exactly one new version is published; no failed request.
Afterwards every process is stopped, the database dropped and the model files removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.api_bench import bench_env, psql, site_prepare  # noqa: E402 (after the path is set)
from bench.proof_stack import Stack, wait_for_http, wait_for_log  # noqa: E402
from bench.proof_users import Recorder, failures, median_ms, run_users, summary  # noqa: E402
from recommender import cache_keys  # noqa: E402
from tests.redis_server import private_redis  # noqa: E402

DB_NAME = "proof_bench"
VAR = REPO / "var" / "bench" / "proof"
PREFIX = "rec"
USERS = 50
OBSERVERS = 5
STAFF = ("proof-admin", "proof-admin-Pw!9")


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _env(args: argparse.Namespace, redis_url: str) -> dict[str, str]:
    return bench_env(
        args.database,
        DB_NAME,
        PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}",
        REDIS_URL=redis_url,  # broker on /0, cache and sessions on /1, lists on /2
        RECOMMENDER_LISTS_PREFIX=PREFIX,
        MODEL_ARTIFACT_DIR=str(VAR / "models"),
        STATIC_ROOT=str(VAR / "static"),
        # The proof is about serving and switching: skip the two extra evaluation trainings.
        RECOMMENDER_PROTOCOL_MAX_RATINGS="0",
        PORT=str(args.port),
    )


def stack_up(args: argparse.Namespace, stack: Stack, redis_pid: int, redis_url: str) -> dict:
    """Start every process of the stack, wait for the site and both workers; the runs' context."""
    movies, tokens = _accounts()
    stack.start_all()
    base = f"http://127.0.0.1:{args.port}"
    wait_for_http(base + "/accounts/login/")
    for name in ("worker", "trainer"):
        wait_for_log(stack, name, " ready.")
    print(f"stack up ({', '.join(stack.commands)}), load average {_loadavg()}", flush=True)
    return {
        "base": base,
        "movies": movies,
        "tokens": tokens,
        "stack": stack,
        "redis_pid": redis_pid,
        "lists_url": redis_url.rsplit("/", 1)[0] + "/2",
    }


def _accounts() -> tuple[list[int], dict[int, str]]:
    """The 500 most rated movies, and bearer tokens of the observers (MovieLens users who never rate here)."""
    import django

    django.setup()
    from django.contrib.auth.models import User

    from accounts.tokens import api_token_create
    from movies.models import Movie, MovieLensAccount

    User.objects.create_superuser(STAFF[0], "", STAFF[1])
    movies = list(Movie.objects.order_by("-ratings_count").values_list("pk", flat=True)[:500])
    observers = {}
    for account in MovieLensAccount.objects.select_related("user").order_by("movielens_id")[:OBSERVERS]:
        observers[account.user.pk] = api_token_create(user=account.user, name="proof observer").secret
    return movies, observers


def _versions() -> list[tuple[int, str, bool]]:
    from recommender.models import ModelVersion

    return list(ModelVersion.objects.order_by("pk").values_list("pk", "state", "is_active"))


def _retrain_as_staff(base: str) -> None:
    """What admin's "Retrain now" button does: a POST with the CSRF token, as a logged-in staff member."""
    session = requests.Session()
    session.get(base + "/admin/login/", timeout=30)
    data = {"csrfmiddlewaretoken": session.cookies["csrftoken"], "username": STAFF[0], "password": STAFF[1]}
    response = session.post(base + "/admin/login/?next=/admin/", data=data, timeout=30, headers={"Referer": base})
    response.raise_for_status()
    url = base + "/admin/recommender/modelversion/retrain/"
    response = session.post(
        url, data={"csrfmiddlewaretoken": session.cookies["csrftoken"]}, timeout=30, headers={"Referer": base}
    )
    if response.status_code != 200 or "Retrain queued" not in response.text:
        raise RuntimeError(f"Retrain now: {response.status_code} {response.url}")


class Observers(threading.Thread):
    """Observers read /api/model, their picks, and /api/model again, over and over."""

    def __init__(self, base: str, tokens: dict[int, str], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.tokens, self.stop = base, tokens, stop
        self.seen: list[tuple[int, list[int], int | None, int | None]] = []  # user, picks, model before/after
        self.errors: list[str] = []

    def _get(self, token: str, path: str) -> requests.Response:
        return requests.get(self.base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def _model(self, token: str) -> int | None:
        response = self._get(token, "/api/model")
        if response.status_code != 200:
            self.errors.append(f"/api/model: {response.status_code}")
            return None
        body = response.json()
        if body["state"] != "active" or body["n_users"] <= 0:
            self.errors.append(f"/api/model named v{body['id']} in state {body['state']}")
        return body["id"]

    def run(self) -> None:
        while not self.stop.is_set():
            for user, token in self.tokens.items():
                try:
                    before = self._model(token)
                    response = self._get(token, "/api/me/picks?n=20")
                    after = self._model(token)
                except requests.RequestException as exc:
                    self.errors.append(f"observer: {type(exc).__name__}")
                    continue
                if response.status_code != 200:
                    self.errors.append(f"/api/me/picks: {response.status_code}")
                    continue
                self.seen.append((user, [p["movie"]["id"] for p in response.json()], before, after))
            self.stop.wait(0.1)


def _live_and_count(client: redis.Redis) -> tuple[int, int] | None:
    """The live version and the size of its hash, read at one instant: the count is taken in a
    transaction that fails, and is tried again, if `live` changed since it was read."""
    live_key = cache_keys.ListsKeys(PREFIX).live()
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(live_key)
                live = pipe.get(live_key)
                if live is None:
                    return None
                pipe.multi()
                pipe.hlen(cache_keys.ListsKeys(PREFIX).of_version(int(live)))
                (count,) = pipe.execute()
                return int(live), int(count)
            except redis.WatchError:
                continue


class LiveWatcher(threading.Thread):
    """Polls Redis: whenever `live` names a version, that version's hash must hold all its users' lists."""

    def __init__(self, client: redis.Redis, n_users: dict[int, int], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client, self.n_users, self.stop = client, n_users, stop
        self.lives: list[int] = []
        self.incomplete: list[str] = []
        self.polls = 0

    def run(self) -> None:
        while not self.stop.wait(0.02):
            found = _live_and_count(self.client)
            if found is None:
                continue
            version, count = found
            self.polls += 1
            if not self.lives or self.lives[-1] != version:
                self.lives.append(version)
            expected = self.n_users.get(version)
            if expected is None:
                from recommender.models import ModelVersion

                expected = ModelVersion.objects.get(pk=version).n_users
                self.n_users[version] = expected
            if count < expected:
                self.incomplete.append(f"live v{version} had {count} of {expected} lists")


def _load(
    base: str, movies: list[int], recorder: Recorder, name: str, until
) -> tuple[float, float, list]:  # until(started) -> True to stop
    started = time.monotonic()
    stop, users = run_users(base, movies, USERS, name, recorder)
    while not until(started):
        time.sleep(0.5)
    stop.set()
    for user in users:
        user.join(timeout=60)
    return started, time.monotonic(), users


def _report(name: str, recorder: Recorder, started: float, stopped: float) -> tuple[int, int]:
    hits = recorder.between(started, stopped)
    bad = failures(hits)
    print(f"\n== {name}: {USERS} users, {stopped - started:.0f} s, load average {_loadavg()}")
    print(summary(hits, stopped - started))
    share = 100 * len(bad) / max(1, len(hits))
    print(f"failed requests: {len(bad)} of {len(hits)} ({share:.2f}%)")
    for hit in bad[:10]:
        print(f"  {hit.detail}")
    return len(bad), len(hits)


def run_load(ctx: dict) -> bool:
    recorder = Recorder()
    started, stopped, _ = _load(ctx["base"], ctx["movies"], recorder, "load", lambda t0: time.monotonic() - t0 >= 60)
    bad, total = _report("load", recorder, started, stopped)
    ok = bad < 0.01 * total
    print(f"target: under 1% failures: {'met' if ok else 'MISSED'}")
    return ok


def _new_active(previous: int) -> int | None:
    """The active version if it is no longer `previous`."""
    from recommender.models import ModelVersion

    row = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    return row if row is not None and row != previous else None


def _check_observed(observers: Observers, client: redis.Redis, complete: set[int]) -> list[str]:
    """Every picks response comes, for its user, from the published list of a complete version it was
    served under: its movies are among that list's first 4 x 20 (picks are shown most stars first, and
    those predicted below 3 stars give way to the next ones)."""
    import numpy as np

    problems = list(observers.errors)
    for user, picks, before, after in observers.seen:
        candidates = {v for v in (before, after) if v is not None}
        matched = False
        for version in candidates:
            raw = client.hget(cache_keys.ListsKeys(PREFIX).of_version(version), str(user))
            listed = set(np.frombuffer(raw, dtype="<u4").tolist()[:80]) if raw is not None else set()
            if raw is not None and set(picks) <= listed and version in complete:
                matched = True
        if not matched:
            problems.append(f"user {user}: picks {picks[:5]}... match no complete version of {sorted(candidates)}")
    return problems


def run_retrain(ctx: dict) -> bool:
    from recommender.models import ModelVersion

    client = redis.Redis.from_url(ctx["lists_url"])
    before = _versions()
    previous = next(pk for pk, _, active in before if active)
    recorder = Recorder()
    stop = threading.Event()
    watcher = LiveWatcher(client, {}, stop)
    observers = Observers(ctx["base"], ctx["tokens"], stop)
    watcher.start()
    observers.start()
    switched_at: list[float] = []

    def until(t0: float) -> bool:
        if time.monotonic() - t0 >= 5 and not ctx.get("retrain_sent"):
            _retrain_as_staff(ctx["base"])
            ctx["retrain_sent"] = time.monotonic()
        if not switched_at and ctx.get("retrain_sent") and _new_active(previous) is not None:
            switched_at.append(time.monotonic())
        if time.monotonic() - t0 > 600:
            return True  # gave up: reported below
        return bool(switched_at) and time.monotonic() - switched_at[0] >= 10

    started, stopped, _ = _load(ctx["base"], ctx["movies"], recorder, "retrain", until)
    stop.set()
    watcher.join()
    observers.join()
    ctx.pop("retrain_sent", None)
    bad, _total = _report("retrain", recorder, started, stopped)
    after = _versions()
    new = [pk for pk, _, _ in after if pk not in {p for p, _, _ in before}]
    complete = set()
    for pk, n_users in ModelVersion.objects.values_list("pk", "n_users"):
        key = cache_keys.ListsKeys(PREFIX).of_version(pk)
        if client.exists(key) and client.hlen(key) >= n_users:
            complete.add(pk)
    problems = watcher.incomplete[:5] + _check_observed(observers, client, complete)
    print(f"versions before {before}, after {after}")
    print(
        f"Redis watcher: {watcher.polls} polls, live went {' -> '.join(f'v{v}' for v in watcher.lives)}, "
        f"{len(watcher.incomplete)} polls saw an incomplete live version"
    )
    switch = f"{switched_at[0] - started:.0f} s into the run" if switched_at else "never"
    print(f"observers: {len(observers.seen)} picks responses checked; new version live {switch}")
    for problem in problems[:10]:
        print(f"  {problem}")
    ok = bad == 0 and not problems and len(new) == 1 and bool(switched_at) and len(watcher.lives) == 2
    print(f"target: no failures, new version live, no half-written version served: {'met' if ok else 'MISSED'}")
    return ok


def run_redis(ctx: dict) -> bool:
    recorder = Recorder()
    frozen: dict[str, float] = {}

    def until(t0: float) -> bool:
        elapsed = time.monotonic() - t0
        if elapsed >= 20 and "stop" not in frozen:
            os.kill(ctx["redis_pid"], signal.SIGSTOP)
            frozen["stop"] = time.monotonic()
        if elapsed >= 40 and "cont" not in frozen:
            os.kill(ctx["redis_pid"], signal.SIGCONT)
            frozen["cont"] = time.monotonic()
        return elapsed >= 60

    started, stopped, _ = _load(ctx["base"], ctx["movies"], recorder, "redis", until)
    bad, _ = _report("redis", recorder, started, stopped)
    phases = [
        ("before (0-20 s)", started, frozen["stop"]),
        ("Redis frozen (20-40 s)", frozen["stop"], frozen["cont"]),
        ("after (40-60 s)", frozen["cont"], stopped),
    ]
    print(f"{'phase':<24}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'failures':>9}")
    for name, a, b in phases:
        hits = recorder.between(a, b)
        p99 = sorted(h.seconds * 1000 for h in hits)[int(0.99 * len(hits))] if hits else float("nan")
        print(f"{name:<24}{len(hits):>9}{median_ms(hits):>9.0f}{p99:>9.0f}{len(failures(hits)):>9}")
    ok = bad == 0
    print(f"target: no failures while Redis is frozen: {'met' if ok else 'MISSED'}")
    return ok


def retrain_to_interrupt(base: str, events: dict[str, float], t0: float, now: float, before: set[int]):
    """Press "Retrain now" 5 s into a run (events["retrain"]); then, until events["killed"] is set,
    the new version once it has trained two epochs, else None."""
    from recommender.models import ModelVersion

    if "retrain" not in events and now - t0 >= 5:
        _retrain_as_staff(base)
        events["retrain"] = now
    if "retrain" not in events or "killed" in events:
        return None
    running = ModelVersion.objects.exclude(pk__in=before).order_by("pk").first()
    if running is not None and running.state == "training" and running.epoch >= 2:
        return running
    return None


def run_trainer(ctx: dict) -> bool:
    from recommender.models import ModelVersion

    client = redis.Redis.from_url(ctx["lists_url"])
    stack: Stack = ctx["stack"]
    before = _versions()
    previous = next(pk for pk, _, active in before if active)
    recorder = Recorder()
    events: dict[str, float] = {}

    def until(t0: float) -> bool:
        now = time.monotonic()
        running = retrain_to_interrupt(ctx["base"], events, t0, now, {p for p, _, _ in before})
        if running is not None:
            stack.kill("trainer")
            events["killed"] = time.monotonic()
            events["killed_epoch"] = running.epoch
        if "killed" in events and "restarted" not in events and now - events["killed"] >= 5:
            stack.start("trainer")
            events["restarted"] = now
        if "restarted" in events and "live" not in events and _new_active(previous) is not None:
            events["live"] = now
        if now - t0 > 600:
            return True  # gave up: reported below
        return "live" in events and now - events["live"] >= 10

    started, stopped, _ = _load(ctx["base"], ctx["movies"], recorder, "trainer", until)
    bad, _ = _report("trainer", recorder, started, stopped)
    after = _versions()
    new = [(pk, state, active) for pk, state, active in after if pk not in {p for p, _, _ in before}]
    live = client.get(cache_keys.ListsKeys(PREFIX).live())
    print(f"versions before {before}, after {after}")
    for key in ("killed", "restarted", "live"):
        print(f"  {key}: {events[key] - started:.0f} s into the run" if key in events else f"  {key}: never")
    if "killed" in events:
        print(f"  the trainer was killed at epoch {events['killed_epoch']}")
    ok_versions = len(new) == 1 and new[0][1] == "active" and new[0][2]
    ok_lists = ok_versions and live is not None and int(live) == new[0][0]
    if ok_lists:
        count = client.hlen(cache_keys.ListsKeys(PREFIX).of_version(new[0][0]))
        ok_lists = count >= ModelVersion.objects.get(pk=new[0][0]).n_users
        print(f"  live lists: v{int(live)}, {count} users")
    ok = bad == 0 and ok_versions and ok_lists
    print(f"target: the retrain completes after the restart, one new version published: {'met' if ok else 'MISSED'}")
    return ok


def _health_timing(base: str, n: int = 100) -> None:
    """GET /healthz one at a time on the idle stack, beside the login page (a page without a query) as baseline."""
    for path in ("/healthz", "/accounts/login/"):
        times = []
        for _ in range(n):
            started = time.monotonic()
            response = requests.get(base + path, timeout=30)
            times.append((time.monotonic() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        times.sort()
        print(f"{path:<18} {n} requests one at a time: p50 {times[n // 2]:.1f} ms, p99 {times[int(n * 0.99)]:.1f} ms")
    print(f"load average {_loadavg()}", flush=True)


RUNS = {"load": run_load, "retrain": run_retrain, "redis": run_redis, "trainer": run_trainer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--run", nargs="+", choices=[*RUNS, "all"], default=["all"], help="which proof runs (default: all four)"
    )
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/postgres", help="database server")
    parser.add_argument("--port", type=int, default=8768, help="gunicorn's port on 127.0.0.1")
    parser.add_argument("--keep", action="store_true", help="keep the database, models and logs afterwards")
    args = parser.parse_args()
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    print(f"Proof runs {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {_loadavg()}, {os.cpu_count()} cores")
    results = {}
    with private_redis(VAR) as (redis_proc, redis_url):
        env = _env(args, redis_url)
        stack = Stack(REPO / "Procfile", env, REPO, VAR / "logs")
        try:
            site_prepare(args.database, DB_NAME, env, train=[], static=True, quiet=True)
            ctx = stack_up(args, stack, redis_proc.pid, redis_url)
            _health_timing(ctx["base"])
            for name in RUNS if "all" in args.run else args.run:
                results[name] = RUNS[name](ctx)
                sys.stdout.flush()
                if stack.dead():
                    print(f"processes that exited: {stack.dead()}")
        finally:
            stack.stop_all()
            from django.db import connections

            connections.close_all()
            if not args.keep:
                psql(args.database, f"DROP DATABASE IF EXISTS {DB_NAME}")
    print("\n" + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in results.items()))
    if not args.keep:
        shutil.rmtree(VAR / "models", ignore_errors=True)
    sys.exit(0 if results and all(results.values()) else 1)


if __name__ == "__main__":
    main()
