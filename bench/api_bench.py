"""The JSON API's picks endpoint under load, beside a trivial endpoint in the same run.

    flock /tmp/bench.lock .venv/bin/python bench/api_bench.py

1. Imports ml-latest-small into a fresh PostgreSQL database, bench_api, trains a
   version (`manage.py train`, which also writes every user's list into Redis),
   and makes an API token for each of 200 MovieLens users.
2. Starts gunicorn with 2 workers (as the Procfile's web process) on PostgreSQL
   and Redis, DEBUG off.
3. Runs wrk (Debian's `wrk`) for --duration seconds at 32 and then 8 connections:
   GET /api/me/picks?n=20, each request with the next user's bearer token (a Lua
   script cycles them), and the baseline GET /api/genres (no auth, one small query).
   Picks keep each user's finished body in the cache (recommender/api/picks_cache.py), and
   nothing changes a user's picks during the run, so those rows time cache hits but for
   each user's first call (at most 200 misses per 300 s, the entries' lifetime).
4. Restarts gunicorn with that cache off (API_PICKS_CACHE_SECONDS=0) and times picks again at
   32 and 8 connections: every call then builds its body, as a miss does (a miss also reads
   and writes the entry, one round trip each).
5. Prints requests/s and the latency percentiles, and the targets of issue 6:
   at least 500 req/s at 32 connections, p99 under 30 ms at 8.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DB_NAME = "bench_api"
DATA = Path(os.environ.get("ML_LATEST_SMALL", REPO.parent / "shared" / "data" / "ml-latest-small"))
USERS = 200


def _with_db(url: str, db: int | str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def psql(database_url: str, sql: str) -> None:
    """One statement on the server's maintenance database (to make or drop a bench's own database)."""
    subprocess.run(["psql", _with_db(database_url, "postgres"), "-qc", sql], check=True)


def database_fresh(database_url: str, name: str) -> None:
    """An empty database `name` on the server of database_url, dropped first if it was there."""
    psql(database_url, f"DROP DATABASE IF EXISTS {name}")
    psql(database_url, f"CREATE DATABASE {name}")


def own_static_root() -> str:
    """A folder of this run's own for collectstatic: the shared var/staticfiles, rewritten while
    a test reads it, made tests flake."""
    folder = tempfile.mkdtemp(prefix="bench-static-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def bench_env(database_url: str, db_name: str, **settings: str) -> dict[str, str]:
    """The environment of a bench's site: production settings (DEBUG off) over plain http on
    127.0.0.1, the bench's own database, quiet logs, and `settings` on top. Also set in this
    process, so Django here sees what the site's processes see."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "DEBUG": "false",
        # Plain http on 127.0.0.1: with HTTPS on, every request would be timed as a 301 to https.
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": _with_db(database_url, db_name),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    os.environ.update(env)
    return env


def site_prepare(
    database_url: str, db_name: str, env: dict[str, str], *, train: list[str], static: bool = False, quiet: bool = False
) -> None:
    """A fresh database `db_name`, migrated, ml-latest-small imported and a version trained
    (`manage.py train` with `train` arguments); `static` also collects the static files."""
    database_fresh(database_url, db_name)
    commands = [["migrate", "-v0"]]
    if static:
        commands.append(["collectstatic", "--noinput", "-v0"])
    commands += [["import_movielens", str(DATA), "--no-progress"], ["train", *train]]
    output = subprocess.DEVNULL if quiet else None
    for command in commands:
        subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True, stdout=output)


def redis_settings(redis_url: str, *, broker: int, lists: int, cache: int, prefix: str) -> dict[str, str]:
    """Redis databases of a bench's own (broker, lists, cache), so it never touches the tests' keys."""
    return {
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": _with_db(redis_url, broker),
        "RECOMMENDER_LISTS_URL": _with_db(redis_url, lists),
        "RECOMMENDER_LISTS_PREFIX": prefix,
        "REDIS_CACHE_URL": _with_db(redis_url, cache),
    }


def _env(args: argparse.Namespace) -> dict[str, str]:
    stores = redis_settings(args.redis, broker=11, lists=10, cache=12, prefix="bench_api")
    models = str(REPO / "var" / "bench" / "api-models")
    return bench_env(args.database, DB_NAME, **stores, MODEL_ARTIFACT_DIR=models, STATIC_ROOT=own_static_root())


def _tokens() -> list[str]:
    import django

    django.setup()
    from accounts.models import ApiToken
    from accounts.tokens import api_token_create
    from movies.models import MovieLensAccount

    ApiToken.objects.filter(name="bench").delete()
    accounts = MovieLensAccount.objects.select_related("user").order_by("movielens_id")[:USERS]
    return [api_token_create(user=a.user, name="bench").secret for a in accounts]


def _lua(tokens: list[str]) -> str:
    quoted = ",".join(f'"{t}"' for t in tokens)
    return (
        f"local tokens = {{{quoted}}}\nlocal i = 0\n{threads_apart_lua('tokens')}"
        "request = function()\n  i = i % #tokens + 1\n"
        '  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[i]})\nend\n'
    )


WRK_THREADS = 2


def threads_apart_lua(list_name: str) -> str:
    """Lua that starts each wrk thread at its own share of the list `list_name` (the counter is `i`).

    wrk gives each thread a Lua state of its own, all counting from i = 0: the threads would ask
    for the same user at the same moment, and an entry that has just expired would be built twice
    at once, which visitors spread over many accounts seldom do.
    """
    return (
        "local threads = 0\n"
        'function setup(thread)\n  thread:set("thread_number", threads)\n  threads = threads + 1\nend\n'
        f"function init(args)\n  i = thread_number * math.floor(#{list_name} / {WRK_THREADS})\nend\n"
    )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_ensure() -> None:
    """Install Debian's wrk when it is missing, before anything slow runs (bin/ensure-apt)."""
    subprocess.run([str(REPO / "bin" / "ensure-apt"), "wrk", "wrk"], check=True)


def _wrk(url: str, connections: int, duration: int, script: str | None) -> dict[str, float]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        result[f"p{pct}"] = _ms(re.search(rf"\s{pct}%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(bad.group(1)) if bad else 0.0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = 0.0 if not errors else float(sum(int(n) for n in re.findall(r"\d+", errors.group(1))))
    return result


@contextmanager
def script_cleanup(*scripts: Path) -> Iterator[None]:
    """Remove the wrk Lua scripts however the run ends."""
    try:
        yield
    finally:
        for script in scripts:
            script.unlink(missing_ok=True)


@contextmanager
def gunicorn(port: int, env: dict[str, str], ready_path: str) -> Iterator[str]:
    """gunicorn with 2 workers (as the Procfile) on 127.0.0.1, answering ready_path; yields its base URL."""
    base = f"http://127.0.0.1:{port}"
    # DEBUG off serves static files by their hashed names, which only collectstatic writes.
    manage = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(manage, cwd=REPO, env=env, check=True)
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "config.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}{ready_path}", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _check_answers(port: int, token: str) -> None:
    """Both timed URLs answer 200 with JSON, picks with personal picks: wrk counts a 3xx as a
    success, so a redirect (or a popular-movies fallback) would otherwise be timed unnoticed."""
    for path, headers in (("/api/genres", {}), ("/api/me/picks?n=20", {"Authorization": f"Bearer {token}"})):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200 or not response.getheader("Content-Type", "").startswith("application/json"):
            kind = response.getheader("Content-Type")
            raise SystemExit(f"GET {path} answered {response.status} {kind}: {body[:200]!r}")
        if path.startswith("/api/me/picks"):
            picks = json.loads(body)
            if len(picks) != 20 or not all(p["personal"] for p in picks):
                raise SystemExit(f"GET {path} gave {len(picks)} picks, not 20 personal ones: {body[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-setup", action="store_true", help="reuse the bench_api database and model")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (the figures hardly depend on it)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    wrk_ensure()
    env = _env(args)
    if not args.skip_setup:
        site_prepare(args.database, DB_NAME, env, train=["--epochs", str(args.epochs), "--no-protocols"])
    tokens = _tokens()
    # No body or generation left by an earlier run (on another database, whose ids these reuse).
    redis.Redis.from_url(env["REDIS_CACHE_URL"]).flushdb()
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(_lua(tokens))
    header = f"{'endpoint':<34}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
    rows = {}

    def row(name: str, url: str, conns: int, lua: str | None) -> None:
        r = _wrk(url, conns, args.duration, lua)
        rows[(name, conns)] = r
        print(
            f"{name:<34}{conns:>6}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p90']:>9.1f}{r['p99']:>9.1f}"
            f"{r['non2xx'] + r['socket_errors']:>9.0f}",
            flush=True,
        )

    picks, cold = "GET /api/me/picks", "GET /api/me/picks (body cache off)"
    with script_cleanup(script):
        with gunicorn(args.port, env, "/api/genres") as base:
            _check_answers(args.port, tokens[0])
            # Warm both workers: factors loaded, connections open (and every user's body cached).
            _wrk(f"{base}/api/me/picks?n=20", 4, 3, str(script))
            print(
                f"API bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}, "
                f"{len(tokens)} users, gunicorn 2 workers, wrk -t2 {args.duration}s per row"
            )
            print(header)
            for conns in (32, 8):
                row("GET /api/genres", f"{base}/api/genres", conns, None)
                row(picks, f"{base}/api/me/picks?n=20", conns, str(script))
        with gunicorn(args.port, {**env, "API_PICKS_CACHE_SECONDS": "0"}, "/api/genres") as base:
            _check_answers(args.port, tokens[0])
            _wrk(f"{base}/api/me/picks?n=20", 4, 3, str(script))
            for conns in (32, 8):
                row(cold, f"{base}/api/me/picks?n=20", conns, str(script))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        for name in (picks, cold):
            at32, at8 = rows[(name, 32)], rows[(name, 8)]
            print(
                f"{name}: >= 500 req/s at 32: {at32['rps']:.0f} ({'met' if at32['rps'] >= 500 else 'MISSED'}); "
                f"p99 < 30 ms at 8: {at8['p99']:.1f} ms ({'met' if at8['p99'] < 30 else 'MISSED'})"
            )


if __name__ == "__main__":
    main()
