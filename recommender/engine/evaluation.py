"""The two evaluation protocols, model presets beside baselines computed in the same run.

(R) rating: a random 80/20 split stratified by rating value, seed 42: RMSE and MAE.
(T) top-N: per user, a seeded random 25% (rounded) of their ratings held out; every
    movie not rated in train is ranked, k = 10, every held-out movie relevant:
    precision@10, recall@10, nDCG@10, MAP@10, catalogue coverage; and liked nDCG@10, where
    only held-out ratings of 4 stars or more are relevant.
(P) people: users held out of training entirely, known by their first k ratings (evaluate_people).

Baselines: global mean, user+item biases, most popular, and EASE (Steck 2019, closed
form, lambda 300) when the catalogue has fewer than 20,000 movies (its Gram matrix is
n_movies^2). Presets train through training.train, which imports TensorFlow lazily here.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from recommender.engine import metrics
from recommender.engine.dataset import Ratings, encode, interactions, split_by_rating, split_per_user
from recommender.engine.foldin import LIKED

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


def _ease_weights(train_csr, lam: float = 300.0) -> np.ndarray:
    """EASE's item weights: B = I - P / diag(P) with P = (X^T X + lam I)^-1, diag(B) = 0.

    float32 (half the memory of float64; lambda keeps the Gram matrix well conditioned), and its
    inverse through a Cholesky factorisation, since it is symmetric positive definite.
    """
    from scipy.linalg import lapack

    x = train_csr.astype(np.float32)
    g = (x.T @ x).toarray().astype(np.float32)
    g[np.diag_indices_from(g)] += lam
    c, info = lapack.spotrf(g, lower=True, overwrite_a=True)
    if info == 0:
        p, info = lapack.spotri(c, lower=True, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: the Gram matrix is not positive definite (LAPACK info {info})")
    p = np.tril(p) + np.tril(p, -1).T  # spotri fills one triangle
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return b


def _ease_top(train_csr, lam: float = 300.0, chunk: int = 2048) -> np.ndarray:
    """EASE's top-K per user: scores X B, rated movies excluded."""
    x = train_csr.astype(np.float32)
    b = _ease_weights(train_csr, lam)
    out = np.empty((x.shape[0], K), dtype=np.int64)
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        out[start : start + part.shape[0]] = _top_from_scores(part @ b, train_csr[start : start + chunk])
    return out


class RunOptions(TypedDict, total=False):
    """The keyword arguments evaluate and evaluate_people share.

    seed: seeds the splits and the training runs (default 42).
    overrides: preset -> config overrides.
    on_progress: called with a short message as each step starts.
    ease: include EASE (default: when the catalogue has fewer than 20,000 movies).
    """

    seed: int
    overrides: dict[str, dict] | None
    on_progress: Progress | None
    ease: bool | None


@dataclass(frozen=True)
class _Run:
    """One evaluation's encoded ratings and options, and the preset training every protocol does."""

    data: Ratings
    seed: int
    overrides: dict[str, dict]
    say: Progress
    ease: bool
    # training.train, imported (with TensorFlow) when the run starts, so that no timing includes it.
    train: Callable[..., Any]

    @classmethod
    def start(cls, ratings: pd.DataFrame, options: RunOptions) -> _Run:
        from recommender.engine.training import train  # TensorFlow only once an evaluation runs

        data = encode(ratings)
        ease = options.get("ease")
        return cls(
            train=train,
            data=data,
            seed=options.get("seed", 42),
            overrides=options.get("overrides") or {},
            say=options.get("on_progress") or (lambda _msg: None),
            ease=data.n_movies < EASE_MAX_MOVIES if ease is None else ease,
        )

    def trained(self, preset: str, part: Ratings) -> Any:
        """training.train's result for the preset trained on part of the ratings."""
        frame = pd.DataFrame(
            {
                "userId": self.data.users.raw[part.user],
                "movieId": self.data.movies.raw[part.movie],
                "rating": part.rating,
            }
        )
        return self.train(frame, preset, overrides=self.overrides.get(preset), seed=self.seed)


def evaluate(
    ratings: pd.DataFrame,
    presets: Sequence[str],
    *,
    protocols: Sequence[str] = ("R", "T"),
    **options: Unpack[RunOptions],
) -> list[dict]:
    """Run protocols R and T for the presets and the baselines.

    Args:
        ratings: columns userId, movieId, rating.
        presets: training presets to evaluate (e.g. ["tutorial", "default"]).
        protocols: which of "R" and "T" to run.
        **options: RunOptions.

    Returns:
        One dict per model: name, rmse, mae (R; NaN where the model predicts no stars),
        precision, recall, ndcg, liked_ndcg, map, coverage (T), seconds (both protocols together).
    """
    run = _Run.start(ratings, options)
    data, seed, say = run.data, run.seed, run.say
    nan = float("nan")
    names = ["global mean", "user+item biases", "most popular"]
    if run.ease:
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
            "liked_ndcg": nan,
            "map": nan,
            "coverage": nan,
            "seconds": 0.0,
        }
        for name in names
    }

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
            result = run.trained(preset, tr)
            pred = result.factors.predict_ids(data.users.raw[te.user], data.movies.raw[te.movie])
            _set(rows[preset], pred, te.rating, t0)

    if "T" in protocols:
        tr_rows, te_rows = split_per_user(data.user, test=0.25, seed=seed)
        tr, te = data.subset(tr_rows), data.subset(te_rows)
        seen = interactions(tr.user, tr.movie, data.n_users, data.n_movies)
        relevant = interactions(te.user, te.movie, data.n_users, data.n_movies)
        liked = te.rating >= LIKED
        relevant_liked = interactions(te.user[liked], te.movie[liked], data.n_users, data.n_movies)

        def score(name: str, top: np.ndarray, t0: float) -> None:
            m = metrics.top_n_metrics(top, relevant, k=K, n_movies=data.n_movies)
            rows[name].update({key: m[key] for key in ("precision", "recall", "ndcg", "map", "coverage")})
            rows[name]["liked_ndcg"] = metrics.top_n_metrics(top, relevant_liked, k=K)["ndcg"]
            rows[name]["seconds"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        popularity = np.bincount(tr.movie, minlength=data.n_movies).astype(np.float64)
        score("most popular", _top_from_item_scores(popularity, seen, data.n_users), t0)
        t0 = time.perf_counter()
        _, _, bm = _bias_fit(tr.user, tr.movie, tr.rating, data.n_users, data.n_movies)
        score("user+item biases", _top_from_item_scores(bm, seen, data.n_users), t0)
        if run.ease:
            say("(T) EASE")
            t0 = time.perf_counter()
            score("EASE", _ease_top(seen), t0)
        for preset in presets:
            say(f"(T) training {preset}")
            t0 = time.perf_counter()
            result = run.trained(preset, tr)
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
        ("liked_ndcg", "liked", 7, ".4f"),
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


# --- protocol P: people the model never saw ---------------------------------------------------------

P_KS = (5, 10, 20)
P_MIN_RATINGS = 40  # a held-out person rated this many movies, so every k leaves some to rank
DISLIKED = 2.0  # protocol P's disliked@10: later rated this many stars or fewer
# f(movie indexes, stars of a person's known ratings) -> (top-10 movie indexes, their stars or NaN)
PeopleRanker = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
P_COLUMNS = ("liked_ndcg", "ndcg", "disliked", "low_stars", "personal")


@dataclass(frozen=True)
class PeopleSplit:
    """Protocol P's split: some users held out of training entirely.

    Attributes:
        train_rows: rating rows of everyone else (what the model trains on).
        users: the held-out user indexes.
        history: per held-out user, their rating rows in time order (oldest first).
    """

    train_rows: np.ndarray
    users: np.ndarray
    history: list[np.ndarray]


def split_people(
    data: Ratings, timestamp: np.ndarray, *, share: float = 0.2, min_ratings: int = P_MIN_RATINGS, seed: int = 42
) -> PeopleSplit:
    """Hold out a seeded `share` of the users, drawn from those with at least `min_ratings` ratings.

    Args:
        data: the encoded ratings.
        timestamp: seconds per rating row (ties keep file order).
        share: held-out users as a share of every user.
        min_ratings: the least ratings a held-out user has, so every k leaves ratings to rank.
        seed: which users.

    Returns:
        PeopleSplit.
    """
    counts = np.bincount(data.user, minlength=data.n_users)
    eligible = np.flatnonzero(counts >= min_ratings)
    take = min(len(eligible), round(share * data.n_users))
    users = np.sort(np.random.default_rng(seed).choice(eligible, take, replace=False))
    held = np.isin(data.user, users)
    order = np.lexsort((np.arange(len(data)), np.asarray(timestamp), data.user))
    order = order[held[order]]
    bounds: list[int] = np.searchsorted(data.user[order], np.r_[users, data.n_users]).tolist()
    history = [order[a:b] for a, b in itertools.pairwise(bounds)]
    return PeopleSplit(np.flatnonzero(~held), users, history)


def protocol_people(
    data: Ratings,
    split: PeopleSplit,
    rankers: dict[str, PeopleRanker],
    *,
    ks: Sequence[int] = P_KS,
) -> list[dict]:
    """Protocol P's figures for some rankers.

    Each held-out user's first k ratings (by time) are what a ranker knows of them; it ranks the
    rest of the catalogue and its top 10 is scored against the user's later ratings:
    liked nDCG@10 (later ratings of 4 or more relevant), nDCG@10 (every later rating relevant),
    disliked (share of the top 10 later rated 2 or less), low stars (share of the top 10 shown
    below 3 stars; NaN for rankers that predict no stars) and personal (1 - mean Jaccard of two
    users' top 10).

    Args:
        data: the encoded ratings (the rankers' movie indexes are data's).
        split: from split_people.
        rankers: name -> f(movie indexes, stars of the known ratings) -> (top-10 movie indexes,
            their stars or NaN), the known movies left out.
        ks: how many first ratings each user is known by.

    Returns:
        One dict per (ranker, k): name, k, users and the P_COLUMNS.
    """
    import scipy.sparse as sp

    out: list[dict] = []
    n = len(split.users)
    if n == 0:
        return out
    for k in ks:
        later_rows = [h[k:] for h in split.history]
        lr = np.repeat(np.arange(n), [len(r) for r in later_rows])
        lm = data.movie[np.concatenate(later_rows)]
        lv = data.rating[np.concatenate(later_rows)]

        every, liked, disliked = (
            sp.csr_matrix((np.ones(int(mask.sum())), (lr[mask], lm[mask])), shape=(n, data.n_movies))
            for mask in (np.ones(len(lv), dtype=bool), lv >= LIKED, lv <= DISLIKED)
        )
        for name, rank in rankers.items():
            top = np.full((n, K), -1, dtype=np.int64)
            stars = np.full((n, K), np.nan)
            for i, rows in enumerate(split.history):
                known = rows[:k]
                picks, picked_stars = rank(data.movie[known], data.rating[known])
                top[i, : len(picks)] = picks[:K]
                stars[i, : len(picks)] = picked_stars[:K]
            out.append(
                {
                    "name": name,
                    "k": k,
                    "users": n,
                    "liked_ndcg": metrics.top_n_metrics(top, liked, k=K)["ndcg"],
                    "ndcg": metrics.top_n_metrics(top, every, k=K)["ndcg"],
                    "disliked": metrics.disliked_share(top, disliked, k=K),
                    "low_stars": metrics.low_star_share(stars) if np.isfinite(stars).any() else float("nan"),
                    "personal": metrics.personal_share(top, k=K),
                }
            )
    return out


def popular_ranker(train: Ratings) -> PeopleRanker:
    """Protocol P's "most popular": the most-rated movies of the training users, known ones left out."""
    counts = np.bincount(train.movie, minlength=train.n_movies).astype(np.float64)
    order = np.argsort(-counts, kind="stable")

    def rank(movies: np.ndarray, _stars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = order[: K + len(movies)]
        top = top[~np.isin(top, movies)][:K]
        return top, np.full(len(top), np.nan)

    return rank


def ease_ranker(train: Ratings, lam: float = 300.0) -> PeopleRanker:
    """Protocol P's EASE: item weights fitted on the training users, scored from the k known movies."""
    b = _ease_weights(interactions(train.user, train.movie, train.n_users, train.n_movies), lam)

    def rank(movies: np.ndarray, _stars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = b[np.asarray(movies, dtype=np.int64)].sum(axis=0)
        scores[movies] = -np.inf
        top = np.argsort(-scores, kind="stable")[:K]
        return top, np.full(len(top), np.nan)

    return rank


def factors_ranker(factors, data: Ratings) -> PeopleRanker:
    """Protocol P's ranker for a trained model: fold the known ratings in, then the site's own picks."""
    from recommender.engine.foldin import fold_in
    from recommender.engine.ranking import order_by_stars, recommend

    to_factors = factors.movies.index(data.movies.raw, unknown="missing")
    to_data = data.movies.index(factors.movie_ids)

    def rank(movies: np.ndarray, stars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = to_factors[movies]
        known = idx >= 0
        user = fold_in(factors, idx[known], stars[known])
        picks, _ = recommend(factors, user_vector=user, n=K, exclude=idx[known])
        shown = factors.predict_ratings(user, picks)
        order = order_by_stars(shown)  # as the site shows them
        return to_data[picks[order]], shown[order]

    return rank


def format_people(rows: list[dict]) -> str:
    """Protocol P's rows as a fixed-width table (NaN shows as '-')."""
    head = f"{'model':<18} {'k':>3} {'liked nDCG':>10} {'nDCG@10':>8} {'disliked':>8} {'low *':>6} {'personal':>8}"
    lines = [head]
    for r in rows:
        cells = [f"{r['name']:<18}", f"{r['k']:>3}"]
        for key, w in zip(P_COLUMNS, (10, 8, 8, 6, 8), strict=True):
            v = r[key]
            cells.append(f"{'-':>{w}}" if np.isnan(v) else f"{v:>{w}.4f}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def evaluate_people(
    ratings: pd.DataFrame, presets: Sequence[str], *, ks: Sequence[int] = P_KS, **options: Unpack[RunOptions]
) -> list[dict]:
    """Protocol P for the presets beside most popular and EASE: how the site serves a new person.

    Args:
        ratings: columns userId, movieId, rating and timestamp (the order a person rated in).
        presets: training presets to evaluate.
        ks: numbers of first ratings a held-out user is known by.
        **options: RunOptions (the seed also picks the held-out users).

    Returns:
        protocol_people's rows: per model and k; none when no user has enough ratings to hold out.
    """
    if "timestamp" not in ratings.columns:
        raise ValueError("protocol P needs a timestamp column (the order each person rated in)")
    run = _Run.start(ratings, options)
    data, say = run.data, run.say
    split = split_people(data, ratings["timestamp"].to_numpy(), seed=run.seed)
    if len(split.users) == 0:
        return []
    train_part = data.subset(split.train_rows)
    rankers = {"most popular": popular_ranker(train_part)}
    if run.ease:
        say("(P) EASE")
        rankers["EASE"] = ease_ranker(train_part)
    for preset in presets:
        say(f"(P) training {preset}")
        rankers[preset] = factors_ranker(run.trained(preset, train_part).factors, data)
    say("(P) ranking")
    return protocol_people(data, split, rankers, ks=ks)
