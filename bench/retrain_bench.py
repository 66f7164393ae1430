"""A retrain of ml-latest-small from "Retrain now" to a live version and to its protocol figures, beside the base code.

    flock /tmp/bench.lock .venv/bin/python bench/retrain_bench.py [--base main] [--rounds 1]

1. A private redis-server and a scratch PostgreSQL database, bench_retrain, with
   ml-latest-small imported.
2. The base code (`--base`, default the branch point from main) is checked out in a
   git worktree in the temporary folder; this code is the checkout the script runs from.
3. For each round, for each code, base first (so every retrain of this code has a live
   version before it, as on a running site): start the Procfile's trainer and worker from
   that code's folder, press "Retrain now" (dispatch.retrain_request, what admin's button
   calls), and poll the version every 0.1 s: the seconds from the request to the version
   live (its lists published) and to its protocol R and T figures in its metrics. The
   trainer's steps (training, the map, lists, protocols) are read from its history and step.
4. Prints both beside each other and the target of issue 19: live within 60 s.
Afterwards the processes are stopped, the worktree removed and the database dropped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.api_bench import DATA, bench_env, database_fresh, psql, redis_settings  # noqa: E402 (after the path is set)
from bench.proof_stack import Stack, wait_for_log  # noqa: E402
from tests.redis_server import private_redis  # noqa: E402

DB_NAME = "bench_retrain"
VAR = REPO / "var" / "bench" / "retrain"
TARGET_LIVE = 60.0
TIMEOUT = 900.0


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _base_checkout(ref: str) -> tuple[Path, str]:
    """The base code in a worktree of its own (detached), and its commit."""
    if ref == "merge-base":
        ref = subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    # Outside the repository: a second checkout inside it would be linted and type-checked as its own.
    folder = Path(tempfile.gettempdir()) / f"retrain-bench-base-{commit}"
    if not folder.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), commit], cwd=REPO, check=True)
    return folder, commit


def _retrain_once(name: str, code: Path, env: dict[str, str]) -> dict:
    """One retrain through the Procfile's trainer and worker started from `code`; its timings."""
    from recommender import dispatch
    from recommender.models import ModelVersion

    stack = Stack(REPO / "Procfile", env, code, VAR / "logs" / name)
    for process in ("trainer", "worker"):
        stack.start(process)
    try:
        for process in ("trainer", "worker"):
            wait_for_log(stack, process, " ready.")
        load = _loadavg()
        started = time.monotonic()
        version, created = dispatch.retrain_request()
        assert created, f"a retrain was already running: v{version.pk}"
        live = figures = None
        steps: dict[str, float] = {}
        while time.monotonic() - started < TIMEOUT:
            version.refresh_from_db()
            now = time.monotonic() - started
            # Each step once, when first seen: the state, the trainer's named step, the protocols' state.
            for step in (version.state, version.step, str(version.metrics.get("protocols", ""))):
                if step and step not in steps:
                    steps[step] = now
            if version.state == ModelVersion.State.FAILED:
                raise RuntimeError(f"{name}: v{version.pk} failed: {version.error}")
            if live is None and version.is_active:
                live = now
            if live is not None and "T_ndcg" in version.metrics:
                figures = now
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{name}: v{version.pk} not live with figures within {TIMEOUT:.0f} s")
        history = version.history
        return {
            "name": name,
            "version": version.pk,
            "load": load,
            "live": live,
            "figures": figures,
            "epochs": len(history),
            "epoch_seconds": sum(h.get("seconds") or 0 for h in history),
            "train_seconds": version.metrics.get("train_seconds"),
            "steps": steps,
            "metrics": {k: version.metrics.get(k) for k in ("val_rmse", "val_ndcg", "R_rmse", "T_ndcg")},
        }
    finally:
        stack.stop_all()


def _show(row: dict) -> None:
    m = row["metrics"]
    steps = ", ".join(f"{step.split(' (')[0].rstrip(' .')} at {t:.1f} s" for step, t in row["steps"].items())
    print(
        f"  {row['name']:<5} v{row['version']}: live {row['live']:.1f} s, figures {row['figures']:.1f} s after the "
        f"request (load {row['load']}); {row['epochs']} epochs, training {row['train_seconds']:.1f} s "
        f"(epochs alone {row['epoch_seconds']:.1f} s); steps: {steps}; val RMSE {m['val_rmse']:.4f}, "
        f"val nDCG@10 {m['val_ndcg']:.4f}, R RMSE {m['R_rmse']:.4f}, T nDCG@10 {m['T_ndcg']:.4f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--base", default="merge-base", help="git ref of the code to time beside this one")
    parser.add_argument("--rounds", type=int, default=1, help="retrains per code (base, this, base, this, ...)")
    args = parser.parse_args()
    print(f"retrain bench, load average {_loadavg()}", flush=True)
    shutil.rmtree(VAR / "models", ignore_errors=True)
    shutil.rmtree(VAR / "logs", ignore_errors=True)
    VAR.mkdir(parents=True, exist_ok=True)
    base, commit = _base_checkout(args.base)
    with private_redis(VAR) as (_, redis_url):
        stores = redis_settings(redis_url, broker=0, lists=2, cache=1, prefix="bench_retrain")
        env = bench_env(
            args.database,
            DB_NAME,
            **stores,
            PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}",
            MODEL_ARTIFACT_DIR=str(VAR / "models"),
            WORKER_CONCURRENCY="2",
        )
        try:
            t0 = time.monotonic()
            database_fresh(args.database, DB_NAME)
            for command in (["migrate", "-v0"], ["import_movielens", str(DATA), "--no-progress"]):
                subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True)
            print(f"  ml-latest-small imported in {time.monotonic() - t0:.0f} s", flush=True)
            import django

            django.setup()
            rows = []
            for _ in range(args.rounds):
                for name, code in ((f"base {commit}", base), ("this", REPO)):
                    rows.append(_retrain_once(name, code, env))
                    _show(rows[-1])
            for name in (f"base {commit}", "this"):
                mine = [r for r in rows if r["name"] == name]
                live = sorted(r["live"] for r in mine)
                figures = sorted(r["figures"] for r in mine)
                print(f"  {name}: request -> live {live[len(live) // 2]:.1f} s, -> protocol figures "
                      f"{figures[len(figures) // 2]:.1f} s (median of {len(mine)})")  # fmt: skip
            best = min(r["live"] for r in rows if r["name"] == "this")
            verdict = "met" if best <= TARGET_LIVE else "missed"
            print(f"  target: live within {TARGET_LIVE:.0f} s of the request, figures after it: {verdict}")
        finally:
            from django.db import connections

            connections.close_all()
            psql(args.database, f"DROP DATABASE IF EXISTS {DB_NAME}")
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, check=False)


if __name__ == "__main__":
    main()
