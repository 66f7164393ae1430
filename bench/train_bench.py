"""Engine benchmarks: accuracy on ml-latest-small, training throughput and top-N speed at ML-25M shape.

Run (the machine is shared: one benchmark at a time):
    flock /tmp/bench.lock .venv/bin/python bench/train_bench.py            # every section
    flock /tmp/bench.lock .venv/bin/python bench/train_bench.py accuracy   # or some of:
        accuracy throughput topn latency

Sections:
    accuracy    protocols R, T and P on ml-latest-small: tutorial, default and the baselines.
    rule        the auto preset's rule (presets.preset_for): its setting at ml-latest-small's size
                beside today's default, and its setting for 2M+ ratings trained on ml-latest-small's
                protocol T training part copied 20 times with new user ids, scored on the original
                users beside the small-data setting (not part of "every section").
    throughput  ratings/s of the default preset (row-sparse lazy Adam, XLA) beside the tutorial
                preset (plain model.fit, Adam) on ML-25M-shaped data (movies.synthetic, 25M ratings,
                162,541 users x 59,047 movies); the tutorial runs a slice of the ratings against
                full-size tables, since its cost per step is set by the table size; and the
                reference design (bench/reference_mf.py: plain matrix factorisation, stars only, lazy
                Adam, batch 262,144) on the same data, which tells the machine's speed apart from ours;
                then the default preset's ranking step timed with and without its in-batch softmax,
                which says how much of a step the ranking objective costs.
    topn        top-100 for all 162,541 users x 59,047 movies x 64 dims with each user's rated
                movies excluded: recommend_all on the random factors (time, peak memory by
                tracemalloc) and on trained-like ones (movie norms falling with popularity),
                beside the BLAS products alone and naive numpy (product + argpartition).
    latency     one user's top-10 from loaded factors; fold-in of ~150 ratings plus top-10.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = Path(os.environ.get("ML_LATEST_SMALL", ROOT.parent / "shared" / "data" / "ml-latest-small"))
DIM = 64


def section(title: str) -> None:
    print(f"\n== {title} ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f})")


def accuracy() -> None:
    from recommender.engine.evaluation import evaluate, evaluate_people, format_people, format_table

    section("accuracy: ml-latest-small, protocols R (RMSE/MAE), T (top-10) and P (new people)")
    ratings = pd.read_csv(DATA / "ratings.csv", usecols=["userId", "movieId", "rating", "timestamp"])
    say = lambda m: print("  ..", m, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    rows = evaluate(ratings, ["tutorial", "default"], on_progress=say)
    print(format_table(rows))
    print(f"  R and T in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    print(format_people(evaluate_people(ratings, ["default"], on_progress=say)))
    print(f"  P in {time.perf_counter() - t0:.0f} s")


def _scored_on(factors, ratings: pd.DataFrame, train_rows, test_rows) -> dict:
    """Protocol T's figures (nDCG@10, liked nDCG@10) and the held-out stars' RMSE, for the users of `ratings`."""
    from recommender.engine import metrics
    from recommender.engine.dataset import interactions
    from recommender.engine.foldin import LIKED
    from recommender.engine.ranking import recommend_all

    users = factors.users.index(ratings["userId"].to_numpy(), unknown="missing")
    movies = factors.movies.index(ratings["movieId"].to_numpy(), unknown="missing")
    n_u, n_m = factors.n_users, factors.n_movies
    tr = np.asarray(train_rows)
    te = np.asarray(test_rows)
    te = te[(movies[te] >= 0) & (users[te] >= 0)]  # what only the held-out ratings have is unknown to the factors
    scored = np.unique(users[te])
    seen = interactions(users[tr], movies[tr], n_u, n_m)
    top = recommend_all(factors, n=10, exclude=seen, users=scored)
    relevant = interactions(users[te], movies[te], n_u, n_m)[scored]
    liked = te[ratings["rating"].to_numpy()[te] >= LIKED]
    relevant_liked = interactions(users[liked], movies[liked], n_u, n_m)[scored]
    stars = factors.predict_ids(ratings["userId"].to_numpy()[te], ratings["movieId"].to_numpy()[te])
    return {
        "ndcg": metrics.top_n_metrics(top, relevant, k=10)["ndcg"],
        "liked": metrics.top_n_metrics(top, relevant_liked, k=10)["ndcg"],
        "rmse": metrics.rmse(stars, ratings["rating"].to_numpy()[te]),
    }


def rule(copies: int = 20) -> None:
    """The auto preset's rule: at ml-latest-small's size, and its 2M+ setting on the data copied `copies` times."""
    from recommender.engine.dataset import split_per_user
    from recommender.engine.presets import preset_for, resolve_config
    from recommender.engine.training import train

    section(f"the auto preset's rule: ml-latest-small, and copied {copies}x with new user ids")
    ratings = pd.read_csv(DATA / "ratings.csv", usecols=["userId", "movieId", "rating"])
    small = preset_for(len(ratings))
    same = resolve_config(*small) == resolve_config("default")
    print(f"  {len(ratings):,} ratings: {small}; the same config as today's default: {same}", flush=True)
    # Protocol T's split of the original users; only their training part is copied, so no copy
    # holds a rating held out from its original.
    users = ratings["userId"].to_numpy()
    codes = np.unique(users, return_inverse=True)[1]
    train_rows, test_rows = split_per_user(codes, test=0.25, seed=42)
    part = ratings.iloc[train_rows].reset_index(drop=True)
    shift = int(users.max()) + 1
    copied = pd.concat(
        [part.assign(userId=part["userId"] + k * shift) for k in range(copies)], ignore_index=True
    )  # copy 0 is the original users
    # Validation for early stopping: the same movies held out of every copy of a user (a per-copy
    # split would validate on ratings other copies train on, and never stop).
    held = split_per_user(codes[train_rows], test=0.1, seed=43)[1]
    held_copied = np.concatenate([held + k * len(part) for k in range(copies)])
    # The setting for the whole data copied (2M+ ratings), trained on the copies of its training part.
    big = preset_for(len(ratings) * copies)
    print(f"  the setting for {len(ratings) * copies:,} ratings: {big}; trained on {len(copied):,} "
          f"({copies} copies of T's training part)", flush=True)  # fmt: skip
    say = lambda h: print(  # noqa: E731
        f"    epoch {h['epoch']} {h['phase']} {h['seconds']:.1f} s, val nDCG {h['val_ndcg']:.4f}, "
        f"RMSE {h['val_rmse']:.4f}",
        flush=True,
    )
    rows = {}
    runs = (("small-data setting", part, small, held), ("2M+ setting", copied, big, held_copied))
    for label, frame, (name, overrides), val_rows in runs:
        t0 = time.perf_counter()
        result = train(frame, name, overrides=overrides, validation_rows=val_rows, on_epoch=say)
        rows[label] = _scored_on(result.factors, ratings, train_rows, test_rows)
        m = rows[label]
        print(f"  {label}: nDCG@10 {m['ndcg']:.4f}, liked nDCG@10 {m['liked']:.4f}, RMSE {m['rmse']:.4f} on the "
              f"original users ({time.perf_counter() - t0:.0f} s, {len(result.history)} epochs)",
              flush=True)  # fmt: skip
    a, b = rows["small-data setting"], rows["2M+ setting"]
    for key in ("ndcg", "liked"):
        change = b[key] / a[key] - 1
        print(f"  {key}: {change:+.1%} ({'within' if abs(change) <= 0.05 else 'outside'} 5%)")
    print(f"  rmse: {b['rmse'] / a['rmse'] - 1:+.1%}")


def _synthetic() -> pd.DataFrame:
    from movies.synthetic import synthetic_ratings

    t0 = time.perf_counter()
    s = synthetic_ratings(scale=1.0, seed=0)
    print(f"  synthetic ML-25M shape: {len(s.user):,} ratings in {time.perf_counter() - t0:.1f} s", flush=True)
    return pd.DataFrame({"userId": s.user, "movieId": s.movie, "rating": s.rating})


def throughput(ratings: pd.DataFrame | None = None, epochs: int = 3, tutorial_rows: int = 1_000_000) -> None:
    import keras

    from recommender.engine.dataset import encode
    from recommender.engine.model import TutorialModel
    from recommender.engine.presets import PRESETS, preset_for
    from recommender.engine.training import train

    section("throughput: ML-25M shape, ratings/s")
    ratings = _synthetic() if ratings is None else ratings
    # The auto preset's setting for this many ratings (presets.preset_for: the batch, group and
    # learning rate), for a few epochs: the figure is the ranking epochs' speed.
    _, scaled = preset_for(len(ratings))
    overrides = {**scaled, "epochs": epochs, "rating_epochs": 1, "patience": epochs, "embedding_dim": DIM}
    print(f"  default preset, overrides {overrides}", flush=True)

    def show(h: dict) -> None:
        print(
            f"  epoch {h['epoch']} {h['phase']:7s} {h['seconds']:6.1f} s {h['ratings_per_s']:>12,.0f} ratings/s "
            f"loss {h['loss']:.4f} val_rmse {h['val_rmse']:.4f} val_ndcg {h['val_ndcg']:.4f}",
            flush=True,
        )

    result = train(ratings, "default", overrides=overrides, validation=0.01, on_epoch=show)
    ranking = [h["ratings_per_s"] for h in result.history if h["phase"] == "ranking"][1:]
    default_speed = float(np.median(ranking))

    t = PRESETS["tutorial"]
    data = encode(ratings)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(data), tutorial_rows, replace=False)
    x = np.stack([data.user[rows], data.movie[rows]], axis=1).astype(np.int32)
    y = ((data.rating[rows] - 0.5) / 4.5).astype(np.float32)
    model = TutorialModel(data.n_users, data.n_movies, t.embedding_dim, t.l2)  # full-size tables
    model.compile(optimizer=keras.optimizers.Adam(t.learning_rate), loss="mse")
    model.fit(x[: 20 * t.batch_size], y[: 20 * t.batch_size], batch_size=t.batch_size, epochs=1, verbose=0)  # compile
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=t.batch_size, epochs=1, verbose=0)
    tutorial_speed = tutorial_rows / (time.perf_counter() - t0)
    print(f"  tutorial preset (model.fit, Adam, batch {t.batch_size}, {tutorial_rows:,} ratings, full tables): "
          f"{tutorial_speed:,.0f} ratings/s")  # fmt: skip
    print(f"  default preset (row-sparse lazy Adam, XLA, batch {overrides['batch_size']:,}, group "
          f"{overrides['group_size']}): "
          f"{default_speed:,.0f} ratings/s median over ranking epochs 2..{len(ranking) + 1} "
          f"({default_speed / tutorial_speed:.1f}x the tutorial)")  # fmt: skip

    from bench.reference_mf import BATCH, reference_speed

    ref = reference_speed(data.user, data.movie, data.rating, data.n_users, data.n_movies, DIM)
    print(f"  reference design (plain MF, stars only, lazy Adam, XLA, batch {BATCH:,}; 2.05M/s there): "
          f"{ref['ratings_per_s']:,.0f} ratings/s on {ref['ratings']:,} ratings, {ref['cores']:.2f} cores busy, "
          f"loss {ref['loss_first']:.3f} -> {ref['loss_last']:.3f}; the default preset runs at "
          f"{default_speed / ref['ratings_per_s']:.2f}x it")  # fmt: skip
    with_softmax, without = _objective_cost(data, overrides)
    print(f"  the default preset's ranking step alone ({OBJECTIVE_BATCHES} batches a round, rounds alternating, "
          f"median): {with_softmax:,.0f} ratings/s; the same step with its in-batch softmax taken out "
          f"{without:,.0f} ({without / ref['ratings_per_s']:.2f}x the reference): the ranking objective costs "
          f"{1 - with_softmax / without:.0%} of a step")  # fmt: skip


OBJECTIVE_BATCHES = 30


def _objective_cost(data, overrides: dict, rounds: int = 3) -> tuple[float, float]:
    """Ratings/s of the ranking pass's step with its in-batch softmax and with the softmax taken out.

    Two trainers of the same config on the same data; the second one's step is traced with the
    softmax loss replaced by 0 (XLA then drops its work), so what differs is the objective alone.
    Rounds alternate between them so that a busy spell of the machine falls on both.
    """
    from unittest import mock

    import tensorflow as tf

    from recommender.engine import sparse_trainer
    from recommender.engine.model import JointModel
    from recommender.engine.presets import resolve_config

    config = resolve_config("default", overrides)
    batch, warm = config.batch_size, 4
    runs = []
    for softmax in (True, False):
        model = JointModel(data.n_users, data.n_movies, config.embedding_dim, config.rating_dim, config.init_scale)
        trainer = sparse_trainer.RowSparseTrainer(model, config, data)
        order, _ = trainer.epoch_order(np.random.default_rng(1), len(data))
        phase = trainer.phase(False)
        zero = mock.patch.object(sparse_trainer, "in_batch_softmax_loss", lambda *a, **k: tf.constant(0.0))
        with contextlib.nullcontext() if softmax else zero:
            trainer.run(False, order[: warm * batch], warm, phase)  # traces the step and compiles its shapes
        runs.append((trainer, order, phase))
    speeds: list[list[float]] = [[], []]
    for r in range(rounds):
        first = (warm + r * OBJECTIVE_BATCHES) * batch
        for i, (trainer, order, phase) in enumerate(runs):
            t0 = time.perf_counter()
            trainer.run(False, order[first : first + OBJECTIVE_BATCHES * batch], OBJECTIVE_BATCHES, phase)
            speeds[i].append(OBJECTIVE_BATCHES * batch / (time.perf_counter() - t0))
    return float(np.median(speeds[0])), float(np.median(speeds[1]))


def _scale_factors(ratings: pd.DataFrame | None):
    import scipy.sparse as sp

    from recommender.engine.dataset import encode
    from recommender.engine.factors import Factors

    ratings = _synthetic() if ratings is None else ratings
    data = encode(ratings)
    rng = np.random.default_rng(0)
    n_u, n_m = data.n_users, data.n_movies
    # Random factors with a popularity-like bias: the selection's cost does not depend on the values.
    counts = np.bincount(data.movie, minlength=n_m)
    factors = Factors(
        user_ids=data.users.raw,
        movie_ids=data.movies.raw,
        user_vectors=(rng.normal(size=(n_u, DIM)) * 0.15).astype(np.float32),
        movie_vectors=(rng.normal(size=(n_m, DIM)) * 0.15).astype(np.float32),
        user_bias=np.zeros(n_u, np.float32),
        movie_bias=np.log1p(counts).astype(np.float32) * 0.2,
        head={"kind": "joint", "global_mean": np.float32(3.5), "weight": np.ones(DIM, np.float32),
              "movie_bias": np.zeros(n_m, np.float32), "user_rating_vectors": np.zeros((n_u, 8), np.float32),
              "movie_rating_vectors": (rng.normal(size=(n_m, 8)) * 0.1).astype(np.float32),
              "low": np.float32(0.5), "high": np.float32(5.0), "fold_alpha": np.float32(20.0),
              "fold_reg": np.float32(1.0), "fold_map": np.eye(DIM, dtype=np.float32)},
    )  # fmt: skip
    seen = sp.csr_matrix((np.ones(len(data), bool), (data.user, data.movie)), shape=(n_u, n_m))
    return factors, seen, data


def _trained_like(factors, seen):
    """The bench factors with each movie vector shrunk by n / (n + median n), n its ratings.

    Ridge shrinkage of a rarely rated movie's vector: trained (L2) embeddings' norms fall with
    popularity, which the random factors' do not; recommend_all skips more products then.
    """
    from dataclasses import replace

    n = np.diff(seen.tocsc().indptr).astype(np.float64)
    shrink = (n / (n + np.median(n))).astype(np.float32)
    return replace(factors, movie_vectors=factors.movie_vectors * shrink[:, None])


def _naive_top(factors, seen, users: np.ndarray) -> np.ndarray:
    """Product + bias, exclusions, argpartition over full rows, sort: 1,000 users at a time."""
    tops = []
    for start in range(0, len(users), 1000):
        rows = users[start : start + 1000]
        s = factors.user_vectors[rows] @ factors.movie_vectors.T + factors.movie_bias
        sub = seen[rows]
        s[np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), sub.indices] = -np.inf
        part = np.argpartition(-s, 99, axis=1)[:, :100]
        order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1)
        tops.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(tops)


def topn(ratings: pd.DataFrame | None = None, naive_users: int = 10_240) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from recommender.engine.ranking import recommend_all

    section(f"top-100 for every user: ML-25M shape, {DIM} dims, rated movies excluded")
    factors, seen, _ = _scale_factors(ratings)
    n_u, n_m = factors.n_users, factors.n_movies
    print(f"  {n_u:,} users x {n_m:,} movies, {seen.nnz:,} exclusions", flush=True)

    t0 = time.perf_counter()
    top = recommend_all(factors, n=100, exclude=seen)
    fast = time.perf_counter() - t0
    assert top.shape == (n_u, 100) and (top >= 0).all()
    # Peak memory from a second run: tracemalloc's hooks slow numpy's many small allocations.
    tracemalloc.start()
    t0 = time.perf_counter()
    recommend_all(factors, n=100, exclude=seen)
    traced = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  recommend_all, random factors: {fast:.1f} s; again under tracemalloc {traced:.1f} s, "
          f"peak {peak / 2**30:.2f} GiB (numpy allocations)", flush=True)  # fmt: skip

    trained = _trained_like(factors, seen)
    t0 = time.perf_counter()
    top_trained = recommend_all(trained, n=100, exclude=seen)
    print(f"  recommend_all, trained-like factors (movie vectors shrunk by n / (n + median n)): "
          f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip

    # Floors: the same float32 BLAS products alone, nothing selected. (1) 1,024-user chunks into
    # full rows (242 MB, memory-bound); (2) as recommend_all runs them: 256 users x 2,000-movie
    # tiles that stay in cache, BLAS on one thread, two chunks at once.
    u = np.ones((1024, DIM + 1), np.float32)
    v = np.ascontiguousarray(np.hstack([factors.movie_vectors, factors.movie_bias[:, None]]).T)
    out = np.empty((1024, n_m), np.float32)
    t0 = time.perf_counter()
    for start in range(0, n_u, 1024):
        u[:, :DIM] = factors.user_vectors[start : start + 1024][: len(u)] if start + 1024 <= n_u else 0.0
        np.matmul(u, v, out=out)
    product = time.perf_counter() - t0
    tiles = [np.ascontiguousarray(v[:, a : a + 2000]) for a in range(0, n_m, 2000)]

    def products(start: int) -> None:
        uc = np.hstack([factors.user_vectors[start : start + 256], np.ones((min(256, n_u - start), 1), np.float32)])
        buf = np.empty(len(uc) * 2000, np.float32)
        for tile in tiles:
            np.matmul(uc, tile, out=buf[: len(uc) * tile.shape[1]].reshape(len(uc), tile.shape[1]))

    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(2) as pool:
        list(pool.map(products, range(0, n_u, 256)))
    tiled = time.perf_counter() - t0
    print(f"  BLAS products alone: 1,024-user chunks into full rows {product:.1f} s; 256 x 2,000 tiles, "
          f"2 threads of 1 BLAS thread {tiled:.1f} s", flush=True)  # fmt: skip

    # Naive numpy on a slice of users, extrapolated; and its lists beside recommend_all's.
    t0 = time.perf_counter()
    naive_top = _naive_top(factors, seen, np.arange(naive_users))
    naive = (time.perf_counter() - t0) * n_u / naive_users
    agree = (naive_top[:, :10] == top[:naive_users, :10]).mean()
    agree_trained = (_naive_top(trained, seen, np.arange(2048))[:, :10] == top_trained[:2048, :10]).mean()
    print(f"  naive argpartition: {naive:.0f} s extrapolated from {naive_users:,} users (top-10 agreement "
          f"with recommend_all {agree:.4f}; trained-like factors, 2,048 users: {agree_trained:.4f})")  # fmt: skip


def latency(ratings: pd.DataFrame | None = None, users: int = 2000) -> None:
    from recommender.engine.factors import load_factors, save_factors
    from recommender.engine.foldin import fold_in
    from recommender.engine.ranking import recommend

    section("latency: one user from loaded factors (ML-25M shape)")
    factors, seen, _ = _scale_factors(ratings)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = save_factors(factors, Path(tmp))
        saved = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = load_factors(path)
        load_s = time.perf_counter() - t0
        size = path.stat().st_size
    print(f"  artefact {size / 2**20:.0f} MiB: save {saved:.2f} s, load + verify {load_s:.2f} s", flush=True)
    rng = np.random.default_rng(1)
    sample = rng.choice(loaded.n_users, users, replace=False)
    one, fold = [], []
    recommend(loaded, user_index=0, n=10, exclude=seen[0].indices)  # warm caches (Gram matrix etc.)
    fold_in(loaded, seen[0].indices, np.full(len(seen[0].indices), 4.0))
    for u in sample:
        rated = seen[u].indices
        stars = np.full(len(rated), 4.0)  # the values do not change the cost
        t0 = time.perf_counter()
        recommend(loaded, user_index=int(u), n=10, exclude=rated)
        one.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        vec = fold_in(loaded, rated, stars)
        recommend(loaded, user_vector=vec, n=10, exclude=rated)
        fold.append(time.perf_counter() - t0)
    one_ms, fold_ms = np.array(one) * 1e3, np.array(fold) * 1e3
    mean_rated = np.diff(seen.indptr)[sample].mean()
    print(f"  one user's top-10: median {np.median(one_ms):.2f} ms, p99 {np.percentile(one_ms, 99):.2f} ms "
          f"({users:,} users)")  # fmt: skip
    print(f"  fold-in ({mean_rated:.0f} ratings on average) + top-10: median {np.median(fold_ms):.2f} ms, "
          f"p99 {np.percentile(fold_ms, 99):.2f} ms")  # fmt: skip


def main(argv: list[str]) -> None:
    wanted = argv or ["accuracy", "throughput", "topn", "latency"]
    scale = None
    if any(w in wanted for w in ("throughput", "topn", "latency")):
        scale = _synthetic()
    for name in wanted:
        if name == "accuracy":
            accuracy()
        elif name == "throughput":
            throughput(scale)
        elif name == "topn":
            topn(scale)
        elif name == "latency":
            latency(scale)
        elif name == "rule":
            rule()
        else:
            raise SystemExit(f"unknown section {name!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
