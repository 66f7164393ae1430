"""The two evaluation protocols, model presets beside baselines computed in the same run.

(R) rating: a random 80/20 split stratified by rating value, seed 42: RMSE and MAE.
(T) top-N: per user, a seeded random 25% (rounded) of their ratings held out; every
    movie not rated in train is ranked, k = 10, every held-out movie relevant:
    precision@10, recall@10, nDCG@10, MAP@10, catalogue coverage.

Baselines: global mean, user+item biases, most popular, and EASE (Steck 2019, closed
form, lambda 300) when the catalogue has fewer than 20,000 movies (its Gram matrix is
n_movies^2). Presets train through training.train, which imports TensorFlow lazily here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from recommender.engine import metrics
from recommender.engine.dataset import encode, interactions, split_by_rating, split_per_user

EASE_MAX_MOVIES = 20_000
K = 10
Progress = Callable[[str], None]


def _bias_fit(
    user: np.ndarray,
    movie: np.ndarray,
    rating: np.ndarray,
    n_users: int,
    n_movies: int,
    reg_user: float = 15.0,
    reg_movie: float = 10.0,
    iterations: int = 10,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Regularised user and movie biases by alternating least squares (Koren's baseline).

    Returns:
        (global mean, user biases, movie biases).
    """
    mu = float(rating.mean())
    bu = np.zeros(n_users)
    bm = np.zeros(n_movies)
    nu = np.bincount(user, minlength=n_users)
    nm = np.bincount(movie, minlength=n_movies)
    for _ in range(iterations):
        bm = np.bincount(movie, rating - mu - bu[user], minlength=n_movies) / (reg_movie + nm)
        bu = np.bincount(user, rating - mu - bm[movie], minlength=n_users) / (reg_user + nu)
    return mu, bu, bm


def _top_from_scores(scores: np.ndarray, exclude, k: int = K) -> np.ndarray:
    """Top-k per row of a dense score matrix, excluded entries (csr) removed."""
    s = np.array(scores, dtype=np.float32, copy=True)
    ex = exclude.tocoo()
    s[ex.row, ex.col] = -np.inf
    if s.shape[1] < k:  # a catalogue smaller than k: pad with -inf, reported as -1 below
        s = np.pad(s, ((0, 0), (0, k - s.shape[1])), constant_values=-np.inf)
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    ps = np.take_along_axis(s, part, axis=1)
    order = np.argsort(-ps, axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(ps, order, axis=1)), top, -1)


def _top_from_item_scores(item_scores: np.ndarray, exclude, n_users: int, chunk: int = 2048) -> np.ndarray:
    """Top-k per user when every user shares one score per movie (popularity, biases)."""
    out = np.empty((n_users, K), dtype=np.int64)
    for start in range(0, n_users, chunk):
        rows = min(chunk, n_users - start)
        out[start : start + rows] = _top_from_scores(
            np.broadcast_to(item_scores, (rows, len(item_scores))), exclude[start : start + rows]
        )
    return out


def _ease_top(train_csr, lam: float = 300.0, chunk: int = 2048) -> np.ndarray:
    """EASE: B = I - P / diag(P) with P = (X^T X + lam I)^-1, diag(B) = 0; scores X B."""
    x = train_csr.astype(np.float32)
    g = (x.T @ x).toarray().astype(np.float32)
    g[np.diag_indices_from(g)] += lam
    # float32: half the memory and about twice as fast as float64; lambda keeps it well conditioned.
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    out = np.empty((x.shape[0], K), dtype=np.int64)
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        out[start : start + part.shape[0]] = _top_from_scores(part @ b, train_csr[start : start + chunk])
    return out


def evaluate(
    ratings: pd.DataFrame,
    presets: Sequence[str],
    *,
    seed: int = 42,
    overrides: dict[str, dict] | None = None,
    on_progress: Progress | None = None,
    protocols: Sequence[str] = ("R", "T"),
    ease: bool | None = None,
) -> list[dict]:
    """Run protocols R and T for the presets and the baselines.

    Args:
        ratings: columns userId, movieId, rating.
        presets: training presets to evaluate (e.g. ["tutorial", "default"]).
        seed: seeds both splits and the training runs.
        overrides: preset -> config overrides.
        on_progress: called with a short message as each step starts.
        protocols: which of "R" and "T" to run.
        ease: include EASE (default: when the catalogue has fewer than 20,000 movies).

    Returns:
        One dict per model: name, rmse, mae (R; NaN where the model predicts no stars),
        precision, recall, ndcg, map, coverage (T), seconds (both protocols together).
    """
    from recommender.engine.training import train  # TensorFlow only once a preset trains

    say = on_progress or (lambda _msg: None)
    overrides = overrides or {}
    data = encode(ratings)
    nan = float("nan")
    names = ["global mean", "user+item biases", "most popular"]
    use_ease = data.n_movies < EASE_MAX_MOVIES if ease is None else ease
    if use_ease:
        names.append("EASE")
    names += list(presets)
    rows = {
        name: {
            "name": name,
            "rmse": nan,
            "mae": nan,
            "precision": nan,
            "recall": nan,
            "ndcg": nan,
            "map": nan,
            "coverage": nan,
            "seconds": 0.0,
        }
        for name in names
    }

    def frame(part) -> pd.DataFrame:
        return pd.DataFrame(
            {"userId": data.users.raw[part.user], "movieId": data.movies.raw[part.movie], "rating": part.rating}
        )

    if "R" in protocols:
        tr_rows, te_rows = split_by_rating(data.rating, test=0.2, seed=seed)
        tr, te = data.subset(tr_rows), data.subset(te_rows)
        t0 = time.perf_counter()
        mu = float(tr.rating.mean())
        _set(rows["global mean"], np.full(len(te), mu), te.rating, t0)
        t0 = time.perf_counter()
        mu, bu, bm = _bias_fit(tr.user, tr.movie, tr.rating, data.n_users, data.n_movies)
        low, high = float(data.rating.min()), float(data.rating.max())
        _set(rows["user+item biases"], np.clip(mu + bu[te.user] + bm[te.movie], low, high), te.rating, t0)
        for preset in presets:
            say(f"(R) training {preset}")
            t0 = time.perf_counter()
            result = train(frame(tr), preset, overrides=overrides.get(preset), seed=seed)
            pred = result.factors.predict_ids(data.users.raw[te.user], data.movies.raw[te.movie])
            _set(rows[preset], pred, te.rating, t0)

    if "T" in protocols:
        tr_rows, te_rows = split_per_user(data.user, test=0.25, seed=seed)
        tr, te = data.subset(tr_rows), data.subset(te_rows)
        seen = interactions(tr.user, tr.movie, data.n_users, data.n_movies)
        relevant = interactions(te.user, te.movie, data.n_users, data.n_movies)

        def score(name: str, top: np.ndarray, t0: float) -> None:
            m = metrics.top_n_metrics(top, relevant, k=K, n_movies=data.n_movies)
            rows[name].update({key: m[key] for key in ("precision", "recall", "ndcg", "map", "coverage")})
            rows[name]["seconds"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        popularity = np.bincount(tr.movie, minlength=data.n_movies).astype(np.float64)
        score("most popular", _top_from_item_scores(popularity, seen, data.n_users), t0)
        t0 = time.perf_counter()
        _, _, bm = _bias_fit(tr.user, tr.movie, tr.rating, data.n_users, data.n_movies)
        score("user+item biases", _top_from_item_scores(bm, seen, data.n_users), t0)
        if use_ease:
            say("(T) EASE")
            t0 = time.perf_counter()
            score("EASE", _ease_top(seen), t0)
        for preset in presets:
            say(f"(T) training {preset}")
            t0 = time.perf_counter()
            result = train(frame(tr), preset, overrides=overrides.get(preset), seed=seed)
            score(preset, _preset_top(result.factors, data, seen), t0)
    return [rows[name] for name in names]


def _preset_top(factors, data, seen) -> np.ndarray:
    """Top-10 in the evaluation's index space from factors indexed by their own training ids."""
    from recommender.engine.ranking import recommend_all

    # Users and movies of the factors, as evaluation indexes (all present: factors trained on a subset).
    f_users = data.users.index(factors.user_ids)
    f_movies = data.movies.index(factors.movie_ids)
    exclude = seen[f_users][:, f_movies]
    top_f = recommend_all(factors, n=K, exclude=exclude)
    top = np.full((data.n_users, K), -1, dtype=np.int64)
    # recommend_all's lists are shorter than K when the factors know fewer movies.
    width = top_f.shape[1]
    top[f_users, :width] = np.where(top_f >= 0, f_movies[np.maximum(top_f, 0)], -1)
    return top


def _set(row: dict, predicted: np.ndarray, actual: np.ndarray, t0: float) -> None:
    row["rmse"] = metrics.rmse(predicted, actual)
    row["mae"] = metrics.mae(predicted, actual)
    row["seconds"] += time.perf_counter() - t0


def format_table(rows: list[dict]) -> str:
    """The rows as one fixed-width text table (NaN shows as '-').

    Args:
        rows: evaluate()'s output.

    Returns:
        The table, one line per model.
    """
    cols = [
        ("name", "model", 18, "s"),
        ("rmse", "RMSE(R)", 8, ".4f"),
        ("mae", "MAE(R)", 8, ".4f"),
        ("precision", "P@10(T)", 8, ".4f"),
        ("recall", "R@10(T)", 8, ".4f"),
        ("ndcg", "nDCG@10", 8, ".4f"),
        ("map", "MAP@10", 8, ".4f"),
        ("coverage", "cover", 7, ".3f"),
        ("seconds", "seconds", 8, ".1f"),
    ]
    lines = [" ".join(f"{title:>{w}}" if key != "name" else f"{title:<{w}}" for key, title, w, _ in cols)]
    for row in rows:
        cells = []
        for key, _, w, fmt in cols:
            v = row.get(key)
            if key == "name":
                cells.append(f"{v:<{w}}")
            elif v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append(f"{'-':>{w}}")
            else:
                cells.append(f"{v:>{w}{fmt}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)
