"""Times `manage.py import_movielens` on ML-25M-shaped synthetic data, PostgreSQL and SQLite.

    flock /tmp/bench.lock .venv/bin/python bench/import_bench.py --scale 1.0

1. Generates the csv files once (movies.synthetic) and caches them under var/bench/.
2. Times pandas alone reading ratings.csv: the floor any importer stands on.
3. Creates a fresh PostgreSQL database (bench_import), migrates it, times the import,
   then times the same import again (nothing changes: the idempotent path).
4. Does the same on a fresh SQLite file.
Each step runs in its own process; its peak memory comes from os.wait4's rusage.
The machine is shared: run it under `flock /tmp/bench.lock` and read the load column.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PANDAS_ONLY = """
import sys, pandas as pd
frame = pd.read_csv(sys.argv[1], dtype={"userId": "int32", "movieId": "int32", "rating": "float32",
                                        "timestamp": "int64"}, engine="c")
print(len(frame))
"""


@dataclass
class Step:
    name: str
    seconds: float
    rows: int
    peak_mb: float
    load: float
    note: str = ""

    def row(self) -> str:
        rate = f"{self.rows / self.seconds:,.0f}" if self.rows else "-"
        return f"| {self.name} | {self.seconds:,.1f} | {rate} | {self.peak_mb:,.0f} | {self.load:.1f} | {self.note} |"


def timed(name: str, command: list[str], env: dict[str, str], rows: int) -> tuple[Step, str]:
    """Run command in a child process; its wall time, its own peak RSS (os.wait4) and its stdout."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
        # Reaped here rather than by Popen.wait, so the rusage is this child's alone.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(f"{name} failed with exit code {process.returncode}")
    return Step(name, seconds, rows, usage.ru_maxrss / 1024, load), stdout


def ensure_data(scale: float, seed: int, cache: Path) -> Path:
    folder = cache / f"synthetic-scale{scale}-seed{seed}"
    if not (folder / "ratings.csv").exists():
        from movies.synthetic import write_movielens

        print(f"generating {folder} ...", file=sys.stderr)
        started = time.monotonic()
        write_movielens(folder, scale=scale, seed=seed, progress=True)
        print(f"generated in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return folder


def count_ratings(folder: Path) -> int:
    with (folder / "ratings.csv").open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) - 1


def fresh_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing an odd database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")


def summary_seconds(out: str) -> str:
    match = re.search(r" in ([\d.]+) s", out)
    return f"import itself {match.group(1)} s" if match else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = ML-25M (25,000,095 ratings)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--cache", type=Path, default=REPO / "var" / "bench", help="where the csv files are kept")
    parser.add_argument(
        "--postgres", default="postgres://postgres@127.0.0.1:5432/bench_import", help="scratch database (recreated)"
    )
    parser.add_argument("--sqlite", type=Path, default=Path("/tmp/bench_import.sqlite3"), help="scratch SQLite file")
    parser.add_argument("--skip-postgres", action="store_true", help="do not run the PostgreSQL import")
    parser.add_argument("--skip-sqlite", action="store_true", help="do not run the SQLite import")
    args = parser.parse_args()

    folder = ensure_data(args.scale, args.seed, args.cache)
    rows = count_ratings(folder)
    python = sys.executable
    base_env = {**os.environ, "SECRET_KEY": "bench-only", "DEBUG": "false"}
    steps: list[Step] = []

    step, _ = timed("pandas.read_csv(ratings.csv) alone", [python, "-c", PANDAS_ONLY, str(folder / "ratings.csv")],
                    base_env, rows)  # fmt: skip
    steps.append(step)

    targets = []
    if not args.skip_postgres:
        targets.append(("PostgreSQL", args.postgres))
    if not args.skip_sqlite:
        targets.append(("SQLite", f"sqlite:///{args.sqlite}"))
    for label, url in targets:
        if label == "PostgreSQL":
            fresh_postgres(url)
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
        env = {**base_env, "DATABASE_URL": url}
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        command = [python, "manage.py", "import_movielens", str(folder), "--no-progress"]
        step, out = timed(f"{label}: first import (empty tables)", command, env, rows)
        step.note = summary_seconds(out)
        steps.append(step)
        print(out.strip(), file=sys.stderr)
        step, out = timed(f"{label}: same files again (no change)", command, env, rows)
        step.note = summary_seconds(out)
        steps.append(step)
        print(out.strip(), file=sys.stderr)

    print(f"\n{rows:,} ratings from {folder.name}; {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print("\n| step | seconds (wall, incl. Django start) | ratings/s | peak RSS MB | load avg at start | note |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for step in steps:
        print(step.row())


if __name__ == "__main__":
    main()
