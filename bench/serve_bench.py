"""Computing and publishing every user's list, Redis memory, and a rating's write and instant refresh.

    flock /tmp/bench.lock .venv/bin/python bench/serve_bench.py --scale 1.0

1. Imports ML-25M-shaped synthetic data (movies.synthetic, cached under var/bench/)
   into a fresh PostgreSQL database, bench_serve (`--db-name` for another).
2. Makes a version with random factors for every user and movie (64 dims): list
   computing costs the same whatever the values, and this skips a long training.
   Its Parquet snapshot is written as training writes it.
3. Where the time of one list chunk goes, step by step, with the database read it
   replaced beside the snapshot read.
4. Baselines: `recommend_all` alone over every user with the exclusions already in
   memory (the compute), and one process reading every rating from the database,
   computing every list, with no Celery and no Redis writes.
5. For each process count: starts a real Celery worker (`-c N`) on a Redis broker,
   fans the lists out as a Celery chord (lists_build, as after a retrain) and times
   until the version is live; then again with 1 process and the chunks reading their
   exclusions from the database (no snapshot), as before the snapshot was read.
6. Reports the Redis memory of one version's lists.
7. Times a rating POST through Django (save, totals, fold-in, top-100, Redis write)
   for the most-rated movies, today's write (a delta on the movie's totals) beside the
   write it replaced (lock the movie, recount its ratings) in the same run, alternating.
   Then where one POST's time goes, step by step, and the refresh alone and the POST for
   users with few and with many ratings. The POSTs run as a web process serves them
   (config/wsgi.py): BLAS on one thread, the objects loaded at start frozen out of the collector.
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

PREFIX = "bench"


def _setup_env(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-only",
        "HTTPS": "false",  # the test client speaks plain http
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DATABASE_URL": _with_db(args.database, args.db_name),
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
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {args.db_name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {args.db_name}"], check=True)
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
    # As training does: the snapshot is read after the version started.
    from recommender.services.lists import snapshot_path
    from recommender.snapshot import ratings_snapshot, snapshot_write

    started = time.monotonic()
    snapshot_write(ratings_snapshot(), snapshot_path(version))
    print(f"snapshot read and written in {time.monotonic() - started:.1f} s", flush=True)
    return version


def _time_in_process(version) -> float:
    """The old baseline: every list in one process, every rating read from the database, no Celery, no Redis."""
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


def _time_compute_alone(version) -> dict[str, float]:
    """recommend_all over every user, the exclusions already in memory: the compute the publish path wraps."""
    import numpy as np

    from recommender.engine.ranking import recommend_all
    from recommender.services.factors_cache import factors_for
    from recommender.services.lists import exclusions, snapshot_path
    from recommender.snapshot import snapshot_read

    factors = factors_for(version)
    rated = snapshot_read(snapshot_path(version))
    exclude = exclusions(factors, rated["userId"].to_numpy(), rated["movieId"].to_numpy())
    out = {}
    for threads in (2, 1):
        started = time.monotonic()
        recommend_all(factors, n=100, exclude=exclude, users=np.arange(factors.n_users), threads=threads)
        out[f"recommend_all alone, exclusions in memory, {threads} thread(s)"] = time.monotonic() - started
    return out


def _chunk_profile(version) -> list[tuple[str, float]]:
    """Where one list chunk's time goes, step by step (the middle chunk, one thread as in a task)."""
    import numpy as np
    from django.conf import settings

    from movies.models import Dismissal, Rating
    from recommender.engine.ranking import recommend_all
    from recommender.services.factors_cache import factors_for
    from recommender.services.lists import exclusions, list_chunks, snapshot_path
    from recommender.snapshot import ratings_snapshot, snapshot_read_users
    from recommender.store import get_store

    chunks = list_chunks(version=version)
    start, stop = chunks[len(chunks) // 2]
    factors = factors_for(version)
    user_ids = factors.user_ids[start:stop]
    low, high = int(user_ids[0]), int(user_ids[-1])
    rows: list[tuple[str, float]] = []

    def timed(name: str, call):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = call()
        rows.append((name, time.perf_counter() - started))
        return result

    old = timed(
        "ratings from the database (before: ratings_snapshot of the chunk)",
        lambda: ratings_snapshot(users_between=(low, high)),
    )
    users, movies = timed(
        "ratings from the Parquet snapshot (now)", lambda: snapshot_read_users(snapshot_path(version), low, high)
    )
    timed(
        "ratings since the snapshot, from the database (now)",
        lambda: list(
            Rating.objects.filter(rated_at__gt=version.started_at, user_id__gte=low, user_id__lte=high).values_list(
                "user_id", "movie_id"
            )
        ),
    )
    timed(
        "dismissals, from the database",
        lambda: list(Dismissal.objects.filter(user_id__gte=low, user_id__lte=high).values_list("user_id", "movie_id")),
    )
    exclude = timed("exclusions as a sparse matrix", lambda: exclusions(factors, users, movies))
    top = timed(
        "recommend_all of the chunk, 1 thread",
        lambda: recommend_all(
            factors, n=settings.RECOMMENDER_LIST_LENGTH, exclude=exclude, users=np.arange(start, stop), threads=1
        ),
    )
    movie_ids = np.where(top >= 0, factors.movie_ids[np.maximum(top, 0)], -1)
    store = get_store()
    scratch = 10**9 + version.pk
    timed("lists written to Redis (pipelined HSETs)", lambda: store.put_many(scratch, user_ids.tolist(), movie_ids))
    store.drop(scratch)
    rows.insert(0, (f"chunk of {stop - start:,} users ({len(old):,} ratings), 1 of {len(chunks)}", float("nan")))
    return rows


def _time_publish_queries(version) -> list[tuple[str, float]]:
    """The publish step's search for users who rated since the snapshot, before and now."""
    from django.db.models import Max

    from movies.models import Rating

    rows = []
    started = time.perf_counter()
    list(Rating.objects.values("user_id").annotate(last=Max("rated_at")).filter(last__gt=version.started_at)
         .values_list("user_id", flat=True))  # fmt: skip
    rows.append(("publish: users who rated since, grouping every rating (before)", time.perf_counter() - started))
    started = time.perf_counter()
    list(Rating.objects.filter(rated_at__gt=version.started_at).order_by().values_list("user_id", flat=True).distinct())
    rows.append(("publish: users who rated since, through rating_rated_at_idx (now)", time.perf_counter() - started))
    return rows


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


def _rating_write_with_recount(*, user, movie_id: int, value) -> object:  # type: ignore[no-untyped-def]
    """The write this bench compares with: lock the movie row, write, recount all its ratings.

    The service before the totals became deltas, kept here (also setting ratings_sum) so both
    run in the same process against the same data.
    """
    from django.db import transaction
    from django.db.models import Avg, Count, Sum
    from django.db.models.functions import Round
    from django.utils import timezone

    from movies.models import Movie, Rating
    from movies.services import rating_value_clean

    stars = rating_value_clean(value)
    with transaction.atomic():
        list(Movie.objects.select_for_update().filter(pk=movie_id).values_list("pk", flat=True))
        rating, _ = Rating.objects.update_or_create(
            user=user, movie_id=movie_id, defaults={"value": stars, "rated_at": timezone.now()}
        )
        totals = Rating.objects.filter(movie_id=movie_id).aggregate(
            count=Count("id"), total=Sum("value"), mean=Round(Avg("value"), 4)
        )
        Movie.objects.filter(pk=movie_id).update(
            ratings_count=totals["count"], ratings_sum=totals["total"] or 0, ratings_mean=totals["mean"]
        )
    return rating


def _time_rating_posts_on_popular_movies(samples: int) -> list[tuple[str, list[float]]]:
    """A rating POST (incl. the refreshed list) on the 10 most-rated movies: today's write beside the recount.

    Each sample is a user who has not rated the movie (a first rating, which both paths count);
    the two paths alternate so that load on the machine falls on both alike.
    """
    import numpy as np
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    import movies.services
    from movies.models import Movie, Rating

    today = movies.services.rating_create_or_update
    popular = list(Movie.objects.order_by("-ratings_count").values_list("pk", "ratings_count")[:10])
    rng = np.random.default_rng(1)
    raters = User.objects.filter(ratings__isnull=False).values_list("pk", flat=True).distinct()
    raters = np.array(raters)
    # Most people have rated some of the 10 most-rated movies: draw plenty to find those who have not.
    candidates = rng.choice(raters, size=min(len(raters), samples * 40), replace=False)
    times: dict[str, list[float]] = {"delta": [], "recount": []}
    taken = 0
    for i in range(samples * 2 + 4):
        path = "delta" if i % 2 else "recount"
        movie_id, _count = popular[i % len(popular)]
        while Rating.objects.filter(user_id=int(candidates[taken]), movie_id=movie_id).exists():
            taken += 1
        user = User.objects.get(pk=int(candidates[taken]))
        taken += 1
        client = Client()
        client.force_login(user)
        movies.services.rating_create_or_update = today if path == "delta" else _rating_write_with_recount
        try:
            started = time.perf_counter()
            response = client.post(reverse("movies:rate", args=[movie_id]), {"value": "3.5"})
            elapsed = time.perf_counter() - started
        finally:
            movies.services.rating_create_or_update = today
        assert response.status_code in (200, 302), response.status_code
        if i >= 4:  # the first two of each warm the caches
            times[path].append(elapsed)
    counts = ", ".join(f"{n:,}" for _, n in popular[:3])
    return [
        (f"today: add the delta (10 most-rated movies: {counts}, ... ratings)", times["delta"]),
        ("before: lock the movie, recount its ratings", times["recount"]),
    ]


def _post_breakdown(samples: int) -> list[tuple[str, list[float]]]:
    """Where a rating POST's time goes: first ratings of the 10 most-rated movies, today's write.

    Each step is timed by wrapping the function the view or service calls, and each SQL
    statement of the write through an execute wrapper (the commit apart). "Around them" is
    the POST less the write and the refresh: middleware, session, user, the movie's row,
    the redirect and the test client itself.
    """
    import numpy as np
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    import movies.services
    import movies.views.ratings
    import recommender.services.picks as picks
    from movies.models import Movie, Rating
    from recommender.store import ListStore

    write, refresh = "rating write (service)", "list refresh"
    took: dict[str, float] = {}
    inside: list[str] = []
    patched: list[tuple[object, str, object]] = []

    def timed(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            inside.append(label)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                took[label] = took.get(label, 0.0) + time.perf_counter() - started
                inside.pop()

        patched.append((owner, name, original))
        setattr(owner, name, wrapper)

    def statement(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if write in inside:
                verb = "SELECT ... FOR UPDATE" if "FOR UPDATE" in sql else sql.lstrip().split(None, 1)[0].upper()
                took[f"  {verb}"] = took.get(f"  {verb}", 0.0) + time.perf_counter() - started
            took["SQL statements (count)"] = took.get("SQL statements (count)", 0.0) + 1

    timed(movies.services, "rating_create_or_update", write)
    timed(connection, "commit", "  COMMIT")
    timed(movies.views.ratings, "user_picks_refresh_logged", refresh)
    timed(picks, "user_rows", "  the user's ratings and marks (one query)")
    timed(picks, "fold_in", "  fold-in")
    timed(picks, "_ranked", "  top-100")
    timed(ListStore, "put", "  the list into Redis")
    timed(picks, "user_generation_bump", "  the user's cache generation (Redis)")
    popular = list(Movie.objects.order_by("-ratings_count").values_list("pk", flat=True)[:10])
    raters = np.array(User.objects.filter(ratings__isnull=False).values_list("pk", flat=True).distinct())
    candidates = iter(np.random.default_rng(2).choice(raters, size=min(len(raters), samples * 40), replace=False))
    steps: dict[str, list[float]] = {}
    try:
        for i in range(samples + 2):
            movie_id = popular[i % len(popular)]
            user_id = int(next(candidates))
            while Rating.objects.filter(user_id=user_id, movie_id=movie_id).exists():
                user_id = int(next(candidates))
            client = Client()
            client.force_login(User.objects.get(pk=user_id))
            took.clear()
            with connection.execute_wrapper(statement):
                started = time.perf_counter()
                response = client.post(reverse("movies:rate", args=[movie_id]), {"value": "3.5"})
                took["rating POST"] = time.perf_counter() - started
            assert response.status_code in (200, 302), response.status_code
            took["around them"] = took["rating POST"] - took.get(write, 0.0) - took.get(refresh, 0.0)
            if i >= 2:  # the first two warm the caches
                for label, seconds in took.items():
                    steps.setdefault(label, []).append(seconds)
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    # The write's statements in the order they ran, then the refresh's steps.
    labels = ["rating POST", write, *(k for k in steps if k.startswith("  ") and k.split()[0].isupper())]
    labels += [refresh, *(k for k in steps if k.startswith("  ") and k not in labels), "around them"]
    labels.append("SQL statements (count)")
    return [(label, steps.get(label, [0.0] * samples)) for label in labels]


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is ML-25M's shape")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="bench_serve", help="the scratch database to import into and use")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-import", action="store_true", help="reuse the database of an earlier run")
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--post-samples", type=int, default=200, help="rating POSTs per path on the most-rated movies")
    parser.add_argument("--breakdown-samples", type=int, default=100, help="rating POSTs timed step by step")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2], help="worker process counts to time the fan-out with"
    )
    parser.add_argument(
        "--skip-lists", action="store_true", help="time only the rating writes (on an earlier run's live version)"
    )
    args = parser.parse_args()
    env = _setup_env(args)
    if not args.skip_import:
        _prepare_database(args, env)

    import django

    django.setup()
    from recommender.services.lists import snapshot_path
    from recommender.store import get_store

    print(f"load average at the start: {_load()}", flush=True)
    from recommender.models import ModelVersion

    active = ModelVersion.objects.filter(is_active=True).first()
    # The rating writes alone need only a live version: an earlier run's, when there is one.
    version = active if args.skip_lists and active is not None else _random_version(args.dim)
    print(f"v{version.pk}: {version.n_users:,} users x {version.n_movies:,} movies x {args.dim} dims", flush=True)
    if not args.skip_lists:
        print("\n| one list chunk, step by step | seconds |\n| --- | ---: |")
        for name, seconds in [*_chunk_profile(version), *_time_publish_queries(version)]:
            print(f"| {name} | {'' if seconds != seconds else f'{seconds:.2f}'} |", flush=True)
        compute = _time_compute_alone(version)
        rows = [*compute.items(), ("one process, no Celery, no Redis, ratings from the database (before)",
                                    _time_in_process(version))]  # fmt: skip
        by_processes = {}
        for processes in args.processes:
            by_processes[processes] = _time_with_workers(version, processes, env)
            rows.append((f"Celery chord, {processes} worker process(es), published to Redis (now)",
                         by_processes[processes]))  # fmt: skip
            print(f"{rows[-1][0]}: {rows[-1][1]:.1f} s (load {_load()})", flush=True)
        snapshot = snapshot_path(version)
        hidden = snapshot.with_name("hidden-" + snapshot.name)
        snapshot.rename(hidden)
        try:
            rows.append(("Celery chord, 1 worker process, chunks read the database (before)",
                         _time_with_workers(version, 1, env)))  # fmt: skip
        finally:
            hidden.rename(snapshot)
        store = get_store()
        memory = store.memory_bytes(version.pk)
        print(f"\nload average at the end of the lists: {_load()} on {os.cpu_count()} cores")
        print("| all users' top-100 lists | seconds |\n| --- | ---: |")
        for name, seconds in rows:
            print(f"| {name} | {seconds:.1f} |")
        alone = compute["recommend_all alone, exclusions in memory, 2 thread(s)"]
        if 1 in by_processes:
            one = by_processes[1]
            print(f"\nCelery, 1 process, start to published: {one / alone:.2f}x recommend_all alone (target <= 2x)")
        if 1 in by_processes and 2 in by_processes:
            print(
                f"Celery, 2 processes: {by_processes[2]:.1f} s against {by_processes[1]:.1f} s with 1 (target: faster)"
            )
        print(f"\nRedis memory of one version's lists: {memory / 2**20:.1f} MiB for {store.count(version.pk):,} users")
    # From here on the bench serves POSTs as a web process does (config/wsgi.py): BLAS on one
    # thread (OPENBLAS_NUM_THREADS=1 there) and everything loaded so far frozen out of the
    # collector, whose full passes over this process's heap otherwise cost 60-80 ms each.
    import gc

    from threadpoolctl import threadpool_limits

    gc.collect()
    gc.freeze()
    with threadpool_limits(limits=1, user_api="blas"):
        _rating_figures(args, version)


def _print_ms(rows: list[tuple[str, list[float]]], title: str) -> None:
    print(f"\n| {title} | n | median ms | p90 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in rows:
        ms = sorted(t * 1000 for t in times)
        if name.endswith("(count)"):
            ms = sorted(times)
        print(
            f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {_quantile(ms, 0.9):.1f} "
            f"| {_quantile(ms, 0.99):.1f} |",
            flush=True,
        )


def _rating_figures(args: argparse.Namespace, version) -> None:  # type: ignore[no-untyped-def]
    print(f"\nload average before the rating writes: {_load()}", flush=True)
    _print_ms(
        _time_rating_posts_on_popular_movies(args.post_samples),
        "rating POST incl. the refreshed list, most-rated movies",
    )
    print(f"load average: {_load()}", flush=True)
    _print_ms(_post_breakdown(args.breakdown_samples), "where a rating POST's time goes (today's write)")
    print("\n| instant update | ms |\n| --- | ---: |")
    for name, ms in _time_rating_refresh(version, args.samples).items():
        print(f"| {name} | {ms:.1f} |")
    print(f"\nload average at the end: {_load()}")


if __name__ == "__main__":
    main()
