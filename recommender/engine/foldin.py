"""Fold-in: a user's vector from their ratings against fixed movie factors, and its calibration.

Numpy only (web processes fold a person in on every rating). The calibration (the map from a
least-squares solve to where trained users sit, how far a folded-in person's stars fall short,
and how much the popularity prior weighs at each number of ratings) is fitted once at export,
on trained users, and stored in the head.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from recommender.engine.factors import Factors, UserVector
from recommender.engine.stars import StarWeights

T = TypeVar("T")  # what _each_band's work returns

# Bands of numbers of ratings (upper bounds, inclusive; the last band is beyond them), each with a
# fold-in map and a popularity prior weight of its own, and the number of ratings a band is fitted on.
BAND_LIMITS = (7, 15, 30, 60)
BAND_SAMPLES = (5, 10, 20, 40, 100)
# What protocol P and the picks call liked: 4 stars or more.
LIKED = 4.0
PRIOR_WEIGHTS = (1.6, 1.4, 1.2, 1.0, 0.8, 0.6)
# Handfuls per validation user that each band's prior weight is chosen on: a handful of 5 or 10
# ratings says the least about its person, so those bands average the most.
PRIOR_SAMPLES = (4, 4, 2, 1, 1)
# Rows of the prior-weight fit's score matrix at a time (rows x movies float32).
PRIOR_CHUNK_ROWS = 1000


def _gram(factors: Factors) -> np.ndarray:
    """V^T V of the movie vectors, cached on the factors object (d x d, computed once)."""
    g = getattr(factors, "_gram_cache", None)
    if g is None:
        v = factors.movie_vectors.astype(np.float64)
        g = v.T @ v
        factors._gram_cache = g  # type: ignore[attr-defined]
    return g


def implicit_solve(
    factors: Factors,
    movie_indexes: np.ndarray,
    stars: np.ndarray | None = None,
    *,
    alpha: float | None = None,
    reg: float | None = None,
) -> np.ndarray:
    """The raw implicit least-squares user vector (before the calibration map).

    Solves min_u sum_m c_m (p_m - u.v_m)^2 + reg |u|^2 where every movie is a weak "not chosen"
    (p = 0, c = 1), a rated movie is "chosen" (p = 1) with confidence 1 + alpha * its positive
    weight, and a disliked one is a firm "not chosen" (p = 0, c = 1 + alpha * its negative
    weight): what the ranking objective learned from the stars (stars.StarWeights). V^T V is
    cached, so one solve costs O(n_rated d^2 + d^3).

    Args:
        factors: the factors.
        movie_indexes: rated movies.
        stars: their stars (None: every rating counts as a full "chosen").
        alpha: confidence of a rating (default: the artefact's fold-in setting).
        reg: ridge term (default: the artefact's setting).

    Returns:
        float64 [dim].
    """
    m = np.asarray(movie_indexes, dtype=np.int64)[None, :]
    s = None if stars is None else np.asarray(stars, dtype=np.float64)[None, :]
    return implicit_solve_many(factors, m, s, alpha=alpha, reg=reg)[0]


def band(n_ratings: int) -> int:
    """The band of BAND_LIMITS that n ratings fall in."""
    return int(np.searchsorted(np.asarray(BAND_LIMITS), n_ratings))


def prior_weight(factors: Factors, n_ratings: int) -> float:
    """How much the popularity prior weighs in the picks of a user folded in from n ratings.

    Chosen on validation at export (fit_prior_weights); 1 (the trained users' weight) for an
    artefact without the setting.
    """
    weights = factors.head.get("prior_weights")
    return 1.0 if weights is None else float(np.asarray(weights)[band(n_ratings)])


def fold_offset(factors: Factors, n_ratings: int) -> float:
    """What a person folded in from n ratings adds to their bias (fit_fold_offsets); 0 without the setting."""
    offsets = factors.head.get("fold_offsets")
    return 0.0 if offsets is None else float(np.asarray(offsets)[band(n_ratings)])


def _fold_map(factors: Factors, n_ratings: int) -> np.ndarray | None:
    maps = factors.head.get("fold_maps")
    if maps is not None:
        return np.asarray(maps[band(n_ratings)], dtype=np.float64)
    legacy = factors.head.get("fold_map")
    return None if legacy is None else np.asarray(legacy, dtype=np.float64)


def fold_in(
    factors: Factors, movie_indexes: np.ndarray | list[int], ratings: np.ndarray | list[float], *, reg: float = 1.0
) -> UserVector:
    """A user's vector from their (movie, rating) pairs, against fixed movie factors.

    Steps:
        1. Ranking/shared vector. Joint head: the star-weighted implicit least-squares solve
           (implicit_solve) mapped by the calibration matrix of its band of BAND_LIMITS,
           fitted at export on trained users (head["fold_maps"]), so a folded-in vector lives
           where the trained ones do.
           Sigmoid (tutorial) head: none of that; step 2 solves it.
        2. Rating side, a ridge least-squares solve on the stars with the vector of step 1
           fixed: joint head -> the user's rating vector and bias from the residual
           r - mean - movie bias - u.w.v, the bias then raised by its band's offset
           (head["fold_offsets"], fit_fold_offsets); sigmoid head -> [u, bias] from the stars
           mapped through the inverse sigmoid.
        3. The popularity prior's weight for this many ratings (prior_weight).

    Args:
        factors: the factors.
        movie_indexes: movies the user rated.
        ratings: their stars, same order.
        reg: ridge term of the rating-side solve.

    Returns:
        A UserVector for recommend(user_vector=...) and Factors.predict_ratings.
    """
    m = np.asarray(movie_indexes, dtype=np.int64)
    r = np.asarray(ratings, dtype=np.float64)
    if m.shape != r.shape:
        raise ValueError("movie_indexes and ratings differ in length")
    d = factors.dim
    low, high = factors.rating_range
    if len(m) == 0:
        return UserVector(np.zeros(d, dtype=np.float32), 0.0, _zero_rating_vector(factors), prior_weight(factors, 0))
    head = factors.head
    if head["kind"] == "sigmoid":
        # Invert the output: stars -> the pre-sigmoid sum u.v + b_u + b_m.
        y = np.clip((r - low) / (high - low), 0.02, 0.98)
        x = (np.log(y / (1 - y)) - float(head["bias"])) / float(head["kernel"])
        target = x - np.asarray(head["movie_bias"])[m].astype(np.float64)
        feats = np.hstack([factors.movie_vectors[m].astype(np.float64), np.ones((len(m), 1))])
        sol = _ridge_sparing_bias(feats, target, reg)
        return UserVector(sol[:d].astype(np.float32), float(sol[d]), np.zeros(0, dtype=np.float32))
    vectors, biases, rating_vectors = _fold_in_rows(factors, m[None, :], r[None, :], reg)
    return UserVector(vectors[0], float(biases[0]), rating_vectors[0], prior_weight(factors, len(m)))


def implicit_solve_many(
    factors: Factors,
    movies: np.ndarray,
    stars: np.ndarray | None,
    *,
    alpha: float | None = None,
    reg: float | None = None,
) -> np.ndarray:
    """implicit_solve for many handfuls of the same size at once.

    Args:
        factors: the factors.
        movies: int [n, size] movie indexes, a handful per row.
        stars: [n, size] their stars (None: every rating counts as a full "chosen").
        alpha, reg: as implicit_solve's.

    Returns:
        float64 [n, dim].
    """
    alpha = float(factors.head.get("fold_alpha", 20.0)) if alpha is None else alpha
    reg = float(factors.head.get("fold_reg", 1.0)) if reg is None else reg
    v = factors.movie_vectors[movies].astype(np.float64)
    if stars is None:
        positive, negative = np.ones(movies.shape), np.zeros(movies.shape)
    else:
        weights = StarWeights.from_head(factors.head)
        positive, negative = weights.positive(stars), weights.negative(stars)
    confidence = alpha * (positive + negative)
    a = _gram(factors) + (v * confidence[..., None]).transpose(0, 2, 1) @ v + reg * np.eye(v.shape[2])
    b = ((1.0 + alpha * positive) * (positive > 0))[:, None, :] @ v
    return np.linalg.solve(a, b.transpose(0, 2, 1))[..., 0]


def fold_in_many(
    factors: Factors, movies: list[np.ndarray], stars: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fold_in's vectors for many people at once (joint head), people with as many ratings batched.

    Args:
        factors: the factors (joint head).
        movies: per person, the movies they rated (at least one).
        stars: per person, their stars.

    Returns:
        float32 (vectors [n, dim], biases [n], rating vectors [n, rating_dim]), as fold_in gives them.
    """
    vectors = np.zeros((len(movies), factors.dim), dtype=np.float32)
    biases = np.zeros(len(movies), dtype=np.float32)
    rating_vectors = np.zeros((len(movies), len(_zero_rating_vector(factors))), dtype=np.float32)
    for who in _same_size_groups([len(m) for m in movies]):
        m = np.stack([np.asarray(movies[i], dtype=np.int64) for i in who])
        r = np.stack([np.asarray(stars[i], dtype=np.float64) for i in who])
        vectors[who], biases[who], rating_vectors[who] = _fold_in_rows(factors, m, r, 1.0)
    return vectors, biases, rating_vectors


def _fold_in_rows(
    factors: Factors, m: np.ndarray, r: np.ndarray, reg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fold_in's steps 1 and 2 (joint head) for people with the same number of ratings.

    Args:
        factors: the factors (joint head).
        m: int [n, size] movie indexes, a person per row.
        r: [n, size] their stars.
        reg: ridge term of the rating-side solve.

    Returns:
        float32 (vectors [n, dim], biases [n], rating vectors [n, rating_dim]).
    """
    head = factors.head
    u = implicit_solve_many(factors, m, r)
    fold_map = _fold_map(factors, m.shape[1])
    if fold_map is not None:
        u = u @ fold_map
    v = factors.movie_vectors[m].astype(np.float64)
    # Rows first, then float64: converting a whole table costs more than the solve at scale.
    resid = (
        r
        - float(head["global_mean"])
        - np.asarray(head["movie_bias"])[m].astype(np.float64)
        - ((v * np.asarray(head["weight"], dtype=np.float64)) @ u[..., None])[..., 0]
    )
    q = np.asarray(head["movie_rating_vectors"])[m].astype(np.float64)
    feats = np.concatenate([q, np.ones((*m.shape, 1))], axis=2)
    ft = feats.transpose(0, 2, 1)
    sol = np.linalg.solve(ft @ feats + reg * np.eye(feats.shape[2]), ft @ resid[..., None])[..., 0]
    bias = sol[:, -1] + fold_offset(factors, m.shape[1])
    return u.astype(np.float32), bias.astype(np.float32), sol[:, :-1].astype(np.float32)


def _same_size_groups(sizes: list[int], chunk: int = 1000) -> list[np.ndarray]:
    """Positions of equal sizes, at most `chunk` per group (the batched solves' memory bound)."""
    sizes_arr = np.asarray(sizes)
    groups = []
    for size in np.unique(sizes_arr):
        who = np.flatnonzero(sizes_arr == size)
        groups += [who[i : i + chunk] for i in range(0, len(who), chunk)]
    return groups


def _zero_rating_vector(factors: Factors) -> np.ndarray:
    q = factors.head.get("movie_rating_vectors")
    return np.zeros(0 if q is None else q.shape[1], dtype=np.float32)


def _ridge_sparing_bias(x: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Solve (X^T X + reg D) w = X^T y; D is the identity but for the last (bias) column."""
    pen = np.full(x.shape[1], reg)
    pen[-1] = 1e-3  # the bias is not shrunk (barely: keeps the system solvable for one rating)
    return np.linalg.solve(x.T @ x + np.diag(pen), x.T @ y)


def _each_band(factors: Factors, work: Callable[..., T], handfuls: list[tuple]) -> list[T]:
    """work(*handful) for each band's handfuls, bands side by side on the cores, results in band order.

    numpy sorts and solves without the interpreter's lock. The handfuls are drawn before, in band
    order, so that the threads cannot change which handful a seed draws.
    """
    _gram(factors)  # cached before the threads share it
    with ThreadPoolExecutor(max_workers=min(len(handfuls), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda h: work(*h), handfuls))


def _user_slices(user: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows sorted by user, start and end of each of `users` in them)."""
    order = np.argsort(user, kind="stable")
    su = user[order]
    return order, np.searchsorted(su, users, side="left"), np.searchsorted(su, users, side="right")


def fit_fold_maps(
    factors: Factors,
    user: np.ndarray,
    movie: np.ndarray,
    rating: np.ndarray,
    *,
    max_users: int = 3000,
    samples: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """The calibration matrices of fold_in, one per band: implicit solves -> trained user vectors.

    A solve from 5 ratings is much shorter than one from 100, and each maps to where trained
    users sit in its own way. For each band, every sample is the implicit_solve of BAND_SAMPLES
    random training ratings of one user (all of them when they have fewer), regressed onto that
    user's trained vector by ridge least squares.

    Args:
        factors: trained factors (joint head).
        user: user index per training rating.
        movie: movie index per training rating.
        rating: stars per training rating.
        max_users: how many users to fit on (cost grows with it; a few thousand suffice).
        samples: handfuls per user and band.
        seed: which users and ratings.

    Returns:
        float32 [bands, dim, dim]: u_trained ~= implicit_solve(...) @ maps[band].
    """
    rng = np.random.default_rng(seed)
    users = np.unique(user)
    if len(users) > max_users:
        users = np.sort(rng.choice(users, max_users, replace=False))
    order, starts, ends = _user_slices(user, users)
    handfuls = []  # drawn in band order before the threads below
    for size in BAND_SAMPLES:
        picks, target = [], []
        for u, a, b in zip(users, starts, ends, strict=True):
            rows = order[a:b]
            for _ in range(samples if len(rows) > size else 1):
                picks.append(rng.choice(rows, min(size, len(rows)), replace=False))
                target.append(u)
        handfuls.append((picks, target))

    def band_map(picks: list[np.ndarray], target: list[int]) -> np.ndarray:
        x = np.zeros((len(picks), factors.dim))
        for who in _same_size_groups([len(p) for p in picks]):  # handfuls of one size solved together
            rows = np.stack([picks[i] for i in who])
            x[who] = implicit_solve_many(factors, movie[rows], rating[rows])
        y = factors.user_vectors[np.asarray(target)].astype(np.float64)
        d = x.shape[1]
        reg = 1e-3 * np.trace(x.T @ x) / d
        return np.linalg.solve(x.T @ x + reg * np.eye(d), x.T @ y)

    return np.asarray(_each_band(factors, band_map, handfuls), dtype=np.float32)


def fit_fold_offsets(
    factors: Factors,
    fit: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    max_users: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """How far the stars of a person folded in from a handful of ratings fall short, per band.

    Their vector is solved from the movies they rated, so the star term is larger on those than
    on the movies a card shows (as for trained users, see calibration), and the bias solved beside
    it comes out low. For each band, validation users are folded in from a handful of that many
    of their training ratings; the mean error of their validation stars is the band's offset.

    Args:
        factors: the exported factors (fold_maps set, no fold_offsets yet).
        fit: (user, movie, rating) of the training ratings.
        val: (user, movie, rating) of the validation ratings.
        max_users: validation users folded in (seeded sample).
        seed: which users and ratings.

    Returns:
        float32 [len(BAND_LIMITS) + 1]: added to a folded-in person's bias, per band.
    """
    offsets = np.zeros(len(BAND_LIMITS) + 1, dtype=np.float32)
    vu, vm, vr = val
    fu, fm, fr = fit
    users = np.unique(vu)
    rng = np.random.default_rng(seed)
    if len(users) > max_users:
        users = np.sort(rng.choice(users, max_users, replace=False))
    order, starts, ends = _user_slices(fu, users)
    v_order, v_starts, v_ends = _user_slices(vu, users)
    has_fit = ends > starts
    handfuls = []
    for count in BAND_SAMPLES:
        picks = [rng.choice(order[a:b], min(count, b - a), replace=False) for a, b in zip(starts, ends, strict=True)]
        handfuls.append([p for p, ok in zip(picks, has_fit, strict=True) if ok])
    val_rows = [v_order[a:b] for a, b, ok in zip(v_starts, v_ends, has_fit, strict=True) if ok]
    if not val_rows:
        return offsets
    rows = np.concatenate(val_rows)
    person = np.repeat(np.arange(len(val_rows)), [len(r) for r in val_rows])

    def band_offset(picks: list[np.ndarray]) -> float:
        vectors, biases, rating_vectors = fold_in_many(factors, [fm[p] for p in picks], [fr[p] for p in picks])
        stars = factors.predict_pairs(vectors[person], biases[person], rating_vectors[person], vm[rows])
        return float(np.mean(vr[rows] - stars))

    offsets[:] = _each_band(factors, band_offset, [(h,) for h in handfuls])
    return offsets


def fit_prior_weights(
    factors: Factors,
    fit: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    max_users: int = 1000,
    samples: tuple[int, ...] = PRIOR_SAMPLES,
    tolerance: float = 0.0,
    k: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """The popularity prior's weight in a new user's picks, for each band of BAND_LIMITS.

    How far a new user's few ratings can be trusted against what everyone watches differs with
    their number. For each band, validation users are folded in from `samples` random handfuls of
    that many of their training ratings, and each weight of PRIOR_WEIGHTS ranks the catalogue; the
    liked nDCG@k (validation ratings of 4 stars or more relevant) of each is measured, and the
    smallest weight within `tolerance` of the best is kept: the prior weighs only as far as it helps.

    Args:
        factors: the exported factors (fold_maps and star_blend set).
        fit: (user, movie, rating) of the training ratings.
        val: (user, movie, rating) of the validation ratings.
        max_users: validation users measured (seeded sample; with a few hundred the chosen weights
            swing from one sample to the next).
        samples: handfuls per user, for each band (with one, which handful was drawn decides the
            weights as much as the model does).
        tolerance: how much liked nDCG may be given up for a smaller prior.
        k: list length.
        seed: which users and ratings.

    Returns:
        float32 [len(BAND_LIMITS) + 1]: a weight per band, the last for more ratings than any band.
    """
    import scipy.sparse as sp  # scipy and pandas: training only

    from recommender.engine.dataset import interactions
    from recommender.engine.metrics import top_n_metrics
    from recommender.engine.ranking import pick_space, pick_vectors  # ranking imports this module's types

    chosen = np.ones(len(BAND_LIMITS) + 1, dtype=np.float32)
    vu, vm, vr = val
    users = np.unique(vu[vr >= LIKED])
    fu, fm, fr = fit
    order, starts, ends = _user_slices(fu, users)
    has_fit = ends - starts >= 2
    users, starts, ends = users[has_fit], starts[has_fit], ends[has_fit]
    if len(users) == 0:
        return chosen
    rng = np.random.default_rng(seed)
    if len(users) > max_users:
        keep = np.sort(rng.choice(len(users), max_users, replace=False))
        users, starts, ends = users[keep], starts[keep], ends[keep]
    space = pick_space(factors)
    k = min(k, factors.n_movies)
    row_of = np.full(int(max(vu.max(), users.max())) + 1, -1, dtype=np.int64)
    row_of[users] = np.arange(len(users))
    keep = (vr >= LIKED) & (row_of[vu] >= 0)
    liked_once = interactions(row_of[vu[keep]], vm[keep], len(users), factors.n_movies)
    handfuls = []
    for count, reps in zip(BAND_SAMPLES, samples, strict=True):
        picks, seen = [], []
        for a, b in zip(np.tile(starts, reps), np.tile(ends, reps), strict=True):
            rows = order[a:b]
            picks.append(rng.choice(rows, min(count, len(rows)), replace=False))
            seen.append(fm[rows])
        handfuls.append((reps, picks, seen))

    def band_ndcg(reps: int, picks: list[np.ndarray], seen: list[np.ndarray]) -> list[float]:
        """Each weight's liked nDCG@k over one band's handfuls, each a row scored against its user's liked movies."""
        liked = sp.vstack([liked_once] * reps, format="csr")
        vectors, _, rating_vectors = fold_in_many(factors, [fm[p] for p in picks], [fr[p] for p in picks])
        x = pick_vectors(factors, vectors, rating_vectors)
        tops: list[list[np.ndarray]] = [[] for _ in PRIOR_WEIGHTS]
        for lo in range(0, len(x), PRIOR_CHUNK_ROWS):
            base = x[lo : lo + PRIOR_CHUNK_ROWS] @ space.movies.T + space.stars_bias
            for i, movies in enumerate(seen[lo : lo + PRIOR_CHUNK_ROWS]):
                base[i, movies] = -np.inf
            for j, top in enumerate(top_per_weight(base, space.prior, PRIOR_WEIGHTS, k)):
                tops[j].append(top)
        return [top_n_metrics(np.vstack(t), liked, k=k)["ndcg"] for t in tops]

    for band, ndcg in enumerate(_each_band(factors, band_ndcg, handfuls)):
        best = max(ndcg)
        chosen[band] = min(w for w, v in zip(PRIOR_WEIGHTS, ndcg, strict=True) if v >= (1 - tolerance) * best)
    return chosen


def top_per_weight(base: np.ndarray, prior: np.ndarray, weights: tuple[float, ...], k: int) -> list[np.ndarray]:
    """Each weight's k best columns of base + weight * prior, row by row, best first.

    Neighbouring weights share most of their top k, so only the first weight partitions whole
    rows; each next one sorts just the columns scoring at least the k-th best of the previous
    weight's top k, which bounds its own k-th best from below.
    """
    n = len(base)
    rows = np.arange(n)[:, None]
    out: list[np.ndarray] = []
    top = None
    for weight in weights:
        scores = base + np.float32(weight) * prior
        if top is None:
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            floor = scores[rows, top].min(axis=1)
            r, c = np.nonzero(scores >= floor[:, None])
            order = np.lexsort((-scores[r, c], r))
            r, c = r[order], c[order]
            rank = np.arange(len(r)) - np.searchsorted(r, np.arange(n))[r]
            top = c[rank < k].reshape(n, k)
        top = np.take_along_axis(top, np.argsort(-scores[rows, top], axis=1), axis=1)
        out.append(top)
    return out
