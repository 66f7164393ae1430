"""Computing and publishing every user's list, Redis memory, and a rating's instant refresh.

    flock /tmp/bench.lock .venv/bin/python bench/serve_bench.py --scale 1.0

1. Imports ML-25M-shaped synthetic data (movies.synthetic, cached under var/bench/)
   into a fresh PostgreSQL database, bench_serve.
2. Makes a version with random factors for every user and movie (64 dims): list
   computing costs the same whatever the values, and this skips a long training.
3. For 1, 2 and then 4 worker processes: starts a real Celery worker (`-c N`) on a
   Redis broker, fans the lists out as a Celery group (lists_build, as after a
   retrain) and times until the version is live. The baseline in the same run is
   one process computing every list with no Celery and no Redis writes.
4. Reports the Redis memory of one version's lists.
5. Times a rating POST through Django (save, fold-in, top-100, Redis write) and the
   refresh alone, for users with few and with many ratings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.api_bench import _with_db  # noqa: E402 (after the path is set)

DB_NAME = "bench_serve"
PREFIX = "bench"


def _setup_env(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-only",
        "HTTPS": "false",  # the test client speaks plain http
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DATABASE_URL": _with_db(args.database, DB_NAME),
        "REDIS_URL": args.redis,
        "CELERY_BROKER_URL": _with_db(args.redis, 9),
        "CELERY_RESULT_BACKEND": _with_db(args.redis, 9),
        "RECOMMENDER_LISTS_URL": _with_db(args.redis, 8),
        "RECOMMENDER_LISTS_PREFIX": PREFIX,
        "MODEL_ARTIFACT_DIR": str(REPO / "var" / "bench" / "models"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def _prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    from movies.synthetic import write_movielens

    data = REPO / "var" / "bench" / f"synthetic-scale{args.scale}-seed0"
    if not (data / "ratings.csv").exists():
        print(f"generating {data} ...", flush=True)
        write_movielens(data, scale=args.scale, seed=0, progress=True)
    admin = _with_db(args.database, "postgres")
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DB_NAME}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {DB_NAME}"], check=True)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=REPO, env=env, check=True)
    started = time.monotonic()
    subprocess.run([*manage, "import_movielens", str(data), "--no-progress"], cwd=REPO, env=env, check=True)
    print(f"imported in {time.monotonic() - started:.0f} s", flush=True)


def _random_version(dim: int):  # -> ModelVersion
    import numpy as np
    from django.contrib.auth.models import User
    from django.utils import timezone

    from movies.models import Movie
    from recommender.engine.factors import Factors, save_factors
    from recommender.models import ModelVersion
    from recommender.services.versions import artifact_dir

    rng = np.random.default_rng(0)
    user_ids = np.array(sorted(User.objects.filter(ratings__isnull=False).distinct().values_list("pk", flat=True)))
    movie_ids = np.array(sorted(Movie.objects.values_list("pk", flat=True)))
    n, m = len(user_ids), len(movie_ids)
    factors = Factors(
        user_ids=user_ids,
        movie_ids=movie_ids,
        user_vectors=rng.normal(0, 0.1, (n, dim)).astype(np.float32),
        movie_vectors=rng.normal(0, 0.1, (m, dim)).astype(np.float32),
        user_bias=np.zeros(n, np.float32),
        movie_bias=rng.normal(0, 0.5, m).astype(np.float32),
        head={
            "kind": "joint",
            "low": np.float32(0.5),
            "high": np.float32(5.0),
            "global_mean": np.float32(3.5),
            "movie_bias": np.zeros(m, np.float32),
            "weight": np.ones(dim, np.float32),
            "movie_rating_vectors": np.zeros((m, 0), np.float32),
            "user_rating_vectors": np.zeros((n, 0), np.float32),
        },
        metadata={"snapshot_at": timezone.now().isoformat()},
    )
    version = ModelVersion.objects.create(
        preset="bench-random", state=ModelVersion.State.READY, started_at=timezone.now()
    )
    version.artifact_path = str(save_factors(factors, artifact_dir(version)))
    version.n_users, version.n_movies = n, m
    version.save()
    return version


def _time_in_process(version) -> float:
    """The baseline: every list in one process, no Celery, no Redis writes."""
    import numpy as np

    from recommender.engine.ranking import recommend_all
    from recommender.services.factors_cache import factors_for
    from recommender.services.lists import exclusions
    from recommender.snapshot import ratings_snapshot

    started = time.monotonic()
    factors = factors_for(version)
    rated = ratings_snapshot()
    exclude = exclusions(factors, rated["userId"].to_numpy(), rated["movieId"].to_numpy())
    recommend_all(factors, n=100, exclude=exclude, users=np.arange(factors.n_users))
    return time.monotonic() - started


def _time_with_workers(version, processes: int, env: dict[str, str]) -> float:
    import redis

    from recommender.dispatch import lists_build
    from recommender.models import ModelVersion
    from recommender.store import get_store

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    store = get_store()
    store.drop(version.pk)
    ModelVersion.objects.filter(pk=version.pk).update(state=ModelVersion.State.READY, is_active=False)
    version.refresh_from_db()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "celery", "-c", str(processes),
         "-P", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning",
         "-n", f"bench{processes}@%h"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(8)  # the worker and its children import Django and numpy
        started = time.monotonic()
        lists_build(version=version)
        while not ModelVersion.objects.filter(pk=version.pk, is_active=True).exists():
            if worker.poll() is not None:
                raise RuntimeError("the worker died")
            time.sleep(0.2)
        return time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _time_rating_refresh(version, samples: int) -> dict[str, float]:
    import numpy as np
    from django.contrib.auth.models import User
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from movies.models import Movie
    from recommender.services import user_picks_refresh

    movie_ids = list(Movie.objects.order_by("-ratings_count").values_list("pk", flat=True)[:500])
    users = list(User.objects.annotate(n=Count("ratings")).filter(n__gt=0).order_by("n").values_list("pk", "n"))
    few = [pk for pk, _ in users[: samples // 2]]
    many = [pk for pk, _ in users[-samples // 2 :]]
    out: dict[str, float] = {}
    for label, group in (("20-ish ratings", few), ("most ratings", many)):
        refresh = []
        post = []
        for user_id in group:
            started = time.perf_counter()
            user_picks_refresh(user_id=user_id)
            refresh.append(time.perf_counter() - started)
            client = Client()
            client.force_login(User.objects.get(pk=user_id))
            movie = movie_ids[int(np.random.default_rng(user_id).integers(0, len(movie_ids)))]
            started = time.perf_counter()
            response = client.post(reverse("movies:rate", args=[movie]), {"value": "4.5"})
            post.append(time.perf_counter() - started)
            assert response.status_code in (200, 302), response.status_code
        out[f"refresh alone, {label} (median ms)"] = statistics.median(refresh) * 1000
        out[f"rating POST to refreshed list, {label} (median ms)"] = statistics.median(post) * 1000
        out[f"rating POST to refreshed list, {label} (p90 ms)"] = sorted(post)[int(len(post) * 0.9)] * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is ML-25M's shape")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-import", action="store_true", help="reuse the bench_serve database")
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2, 4], help="worker process counts to time the fan-out with"
    )
    args = parser.parse_args()
    env = _setup_env(args)
    if not args.skip_import:
        _prepare_database(args, env)

    import django

    django.setup()
    from recommender.store import get_store

    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    version = _random_version(args.dim)
    print(f"v{version.pk}: {version.n_users:,} users x {version.n_movies:,} movies x {args.dim} dims", flush=True)
    rows = [("one process, no Celery, no Redis (baseline)", _time_in_process(version))]
    for processes in args.processes:
        rows.append(
            (
                f"Celery group, {processes} worker process(es), published to Redis",
                _time_with_workers(version, processes, env),
            )
        )
    store = get_store()
    memory = store.memory_bytes(version.pk)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print("| all users' top-100 lists | seconds |\n| --- | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    print(f"\nRedis memory of one version's lists: {memory / 2**20:.1f} MiB for {store.count(version.pk):,} users")
    print("\n| instant update | ms |\n| --- | ---: |")
    for name, ms in _time_rating_refresh(version, args.samples).items():
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
