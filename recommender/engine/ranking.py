"""Top-N from factors (one user, or every user in chunks) and fold-in of a user's ratings.

Pure numpy/scipy (and threadpoolctl for recommend_all): this runs in web processes, which never
import TensorFlow.
The ranking score of movie m for user u is ``u . v_m + movie_bias[m]``.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from recommender.engine.factors import Factors, UserVector

NEG_INF = np.float32(-np.inf)


def _top_sorted(scores: np.ndarray, n: int) -> np.ndarray:
    """Indexes of the n best of a 1-D score array, best first; ties by lower index."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n < scores.shape[0]:
        # Every index scoring at least the n-th best value: an argpartition alone would keep
        # any of the movies tied for the n-th place, not the lowest indexes.
        nth = -np.partition(-scores, n - 1)[n - 1]
        part = np.flatnonzero(scores >= nth)
    else:
        part = np.arange(scores.shape[0])
    order = np.lexsort((part, -scores[part]))[:n]
    return part[order]


def scores_for(factors: Factors, user: int | UserVector | np.ndarray) -> np.ndarray:
    """Ranking scores of one user for every movie.

    Args:
        factors: the factors.
        user: a user index, a UserVector (fold-in) or a raw embedding [dim].

    Returns:
        float32 [n_movies].
    """
    if isinstance(user, UserVector):
        vec = user.vector
    elif isinstance(user, np.ndarray):
        vec = user
    else:
        vec = factors.user_vectors[int(user)]
    return factors.movie_vectors @ np.asarray(vec, dtype=np.float32) + factors.movie_bias


def recommend(
    factors: Factors,
    *,
    user_index: int | None = None,
    user_vector: UserVector | np.ndarray | None = None,
    n: int = 10,
    exclude: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One user's top-n movies, excluding some (usually the movies they rated).

    Args:
        factors: the factors.
        user_index: a trained user's row; or
        user_vector: a UserVector from fold_in (or a raw embedding).
        n: how many picks.
        exclude: movie indexes never to return.

    Returns:
        (movie_indexes int32 [<=n], scores float32 [<=n]), best first; shorter than n
        only when fewer than n movies are left after the exclusions.
    """
    if (user_index is None) == (user_vector is None):
        raise ValueError("give exactly one of user_index and user_vector")
    scores = scores_for(factors, user_vector if user_vector is not None else user_index)
    if exclude is not None and len(exclude):
        scores[np.asarray(exclude, dtype=np.int64)] = NEG_INF
    top = _top_sorted(scores, min(n, scores.shape[0]))
    top = top[np.isfinite(scores[top])]
    return top.astype(np.int32), scores[top].astype(np.float32)


class _Ranker:
    """Chunked exact top-n over every user, with the movie side prepared once.

    The movies are put in order of their score for the mean user (bias + mean user . v),
    so the first columns hold most users' winners, and cut into tiles.

    Steps for one chunk of users:
        1. From the second tile on, a user whose bound for the tile, |u| * max |v| + max
           bias over its movies (Cauchy-Schwarz, widened for float32 rounding), is below
           their threshold (step 4) skips it: no score there can reach their list.
        2. The tile's scores for the other users come from one float32 BLAS product
           [users, dim+1] x [dim+1, tile] (the bias is the extra column, so no pass adds
           it) into a buffer small enough to stay in the CPU cache while the next steps
           read it.
        3. Excluded (rated) entries of the tile are set to -inf.
        4. First tile only: each user's threshold is their n-th best score in it. Their
           final n-th best can only be higher, so every movie of the final top-n scores at
           least the threshold.
        5. One compare pass keeps the entries at or above the threshold (ties included), as
           (user, movie, score) candidates: about n per user in the first tile and a few
           more in the others, where the mean user's order leaves few scores that high.
        6. The candidates are sorted once by (user, score descending, movie index) packed
           into one 64-bit key, and each user's first n are the list: the same order as
           recommend(), ties by lower movie index.

    How much step 1 saves depends on the factors: with random ones |u| |v| (~1.4 in the
    bench) dwarfs the real spread of u . v (~0.2), so nearly every product is made; with
    norms that fall with popularity, as trained ones do, the tail tiles are skipped.
    """

    def __init__(self, factors: Factors, n: int, *, first: int = 2048, tile: int = 2000) -> None:
        m, d = factors.movie_vectors.shape
        self.n = min(n, m)
        # The order only decides how many candidates pass the threshold, never the result.
        mean_user = factors.user_vectors.mean(axis=0, dtype=np.float64) if factors.n_users else np.zeros(d)
        expected = factors.movie_bias.astype(np.float64) + factors.movie_vectors.astype(np.float64) @ mean_user
        self.order = np.argsort(-expected, kind="stable")
        edges = [0, min(max(first, self.n), m)]
        while edges[-1] < m:
            edges.append(min(edges[-1] + tile, m))
        self.edges = np.array(edges, dtype=np.int64)
        v = np.empty((d + 1, m), dtype=np.float32)
        v[:d] = factors.movie_vectors[self.order].T
        v[d] = factors.movie_bias[self.order]
        # One contiguous [dim+1, width] matrix per tile, so each product writes a contiguous block.
        self.v_tiles = [np.ascontiguousarray(v[:, a:b]) for a, b in itertools.pairwise(edges)]
        self.max_width = max((b - a for a, b in itertools.pairwise(edges)), default=0)
        # Per movie (original index): its tile and its column there, to place exclusions.
        position = np.empty(m, dtype=np.int64)
        position[self.order] = np.arange(m)
        tile_of = np.searchsorted(self.edges, position, side="right") - 1
        # int16: a stable argsort of 16-bit keys is a radix sort.
        self.tile_of = tile_of.astype(np.int16 if len(self.v_tiles) < 2**15 else np.int64)
        self.column_of = (position - self.edges[tile_of]).astype(np.int64)
        self.movie_bits = max(1, (m - 1).bit_length())
        # Per tile, (a, b) with every score of a user u there at most |u| * a + b (Cauchy-Schwarz:
        # u . v_m + bias_m <= |u| |v_m| + bias_m), widened by 1e-4 relative to cover the
        # float32 rounding of the product (at most 65 * 2**-24 relative per score).
        norms = np.linalg.norm(factors.movie_vectors.astype(np.float64), axis=1)
        bias = factors.movie_bias.astype(np.float64)
        self.tile_reach = np.full((len(self.v_tiles), 2), -np.inf)
        for t, (a, b) in enumerate(itertools.pairwise(edges)):
            top_bias = bias[self.order[a:b]].max()
            self.tile_reach[t, 0] = norms[self.order[a:b]].max() * (1 + 1e-4)
            if np.isfinite(top_bias):
                self.tile_reach[t, 1] = top_bias + 1e-4 * abs(top_bias)
        self._local = threading.local()

    @property
    def max_chunk(self) -> int:
        """Most users per chunk: user, score and movie must fit one 64-bit sort key."""
        return 1 << max(0, 32 - self.movie_bits)

    def _buffers(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        # Reused per thread: fresh arrays per tile would cost their page faults every time.
        buf = getattr(self._local, "buf", None)
        if buf is None or buf[0].shape[0] < c * self.max_width:
            buf = (np.empty(c * self.max_width, dtype=np.float32), np.empty(c * self.max_width, dtype=bool))
            self._local.buf = buf
        return buf

    def chunk(self, u: np.ndarray, exclude_rows: np.ndarray | None, exclude_cols: np.ndarray | None) -> np.ndarray:
        c, n = u.shape[0], self.n
        out = np.full((c, n), -1, dtype=np.int32)
        if c == 0 or n == 0:
            return out
        scores_buf, mask_buf = self._buffers(c)
        n_tiles = len(self.v_tiles)
        er = None
        if exclude_rows is not None and len(exclude_rows):
            tile = self.tile_of[exclude_cols]
            by_tile = np.argsort(tile, kind="stable")
            er, ec = exclude_rows[by_tile], self.column_of[exclude_cols][by_tile]
            bounds = np.searchsorted(tile[by_tile], np.arange(n_tiles + 1))
        rows, cols, vals = [], [], []
        threshold, threshold_64 = None, np.empty(0)
        u_norm = np.sqrt(np.einsum("ij,ij->i", u[:, :-1], u[:, :-1], dtype=np.float64))
        slot = np.empty(c, dtype=np.int64)
        for t in range(n_tiles):
            w = int(self.edges[t + 1] - self.edges[t])
            active = None  # rows that need this tile's product; None: every row
            if threshold is not None:
                # Users none of whose scores in the tile can reach their threshold skip it.
                need = u_norm * self.tile_reach[t, 0] + self.tile_reach[t, 1] >= threshold_64
                k = int(np.count_nonzero(need))
                if k == 0:
                    continue
                if k < c:
                    active = np.flatnonzero(need)
            ua = u if active is None else u[active]
            s = scores_buf[: ua.shape[0] * w].reshape(ua.shape[0], w)
            np.matmul(ua, self.v_tiles[t], out=s)
            if er is not None and bounds[t + 1] > bounds[t]:
                r, col = er[bounds[t] : bounds[t + 1]], ec[bounds[t] : bounds[t + 1]]
                if active is not None:
                    slot.fill(-1)
                    slot[active] = np.arange(len(active))
                    r = slot[r]
                    r, col = r[r >= 0], col[r >= 0]
                s[r, col] = NEG_INF
            if threshold is None:
                threshold = np.partition(s, w - n, axis=1)[:, w - n]
                # A user with fewer than n movies left here keeps every finite score, never -inf.
                threshold = np.maximum(threshold, np.finfo(np.float32).min)[:, None]
                threshold_64 = threshold[:, 0].astype(np.float64)
            keep = mask_buf[: s.size].reshape(s.shape)
            np.greater_equal(s, threshold if active is None else threshold[active], out=keep)
            flat = np.flatnonzero(keep)
            rows.append(flat // w if active is None else active[flat // w])
            cols.append(self.order[flat % w + self.edges[t]])
            vals.append(s.reshape(-1)[flat])
        return self._first_n(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), out)

    def _first_n(self, rows: np.ndarray, movies: np.ndarray, scores: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Each row's n best candidates into out, best first, ties by lower movie index."""
        # Descending scores as ascending unsigned ints: negate (+0.0 folds -0.0 into 0.0, an
        # equal score), then flip the sign bit of positives and every bit of negatives.
        neg = -scores
        neg += np.float32(0.0)
        bits = neg.view(np.uint32).astype(np.uint64)
        bits ^= np.where(bits >> np.uint64(31), np.uint64(0xFFFFFFFF), np.uint64(0x80000000))
        mb = np.uint64(self.movie_bits)
        key = (rows.astype(np.uint64) << (mb + np.uint64(32))) | (bits << mb) | movies.astype(np.uint64)
        key.sort()
        row = (key >> (mb + np.uint64(32))).astype(np.int64)
        movie = (key & np.uint64((1 << self.movie_bits) - 1)).astype(np.int32)
        rank = np.arange(len(key)) - np.searchsorted(row, np.arange(out.shape[0]))[row]
        first = rank < self.n
        out[row[first], rank[first]] = movie[first]
        return out


def recommend_all(
    factors: Factors,
    *,
    n: int = 100,
    exclude=None,
    chunk_size: int = 256,
    users: np.ndarray | None = None,
    threads: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Exact top-n for many users, in chunks (see _Ranker for the method).

    BLAS runs on one thread per chunk while this runs (threadpoolctl, process-wide, restored
    at the end): the chunks in flight already fill the cores, and OpenBLAS threads on top of
    them oversubscribe the cores (1.7x slower here).

    Args:
        factors: the factors.
        n: list length.
        exclude: scipy.sparse.csr_matrix [n_users, n_movies] of movies to exclude
            (rated ones), rows indexed by user index; None excludes nothing.
        chunk_size: users per BLAS product; 256 x 2,000 scores per tile (2 MB) stay in the
            CPU cache while they are selected.
        users: user indexes to rank (default: every user), e.g. one Celery task's slice.
        threads: chunks in flight at once (default 2): one chunk's selection runs while
            another's product runs, since numpy and BLAS release the GIL.
        on_progress: called with (users done, users total) after each chunk.

    Returns:
        int32 [len(users), n] movie indexes, best first (ties by lower movie index, as
        recommend()); -1 pads a list when fewer than n movies are left after the exclusions.
    """
    users = np.arange(factors.n_users) if users is None else np.asarray(users, dtype=np.int64)
    out = np.full((len(users), min(n, factors.n_movies)), -1, dtype=np.int32)
    if out.size == 0:
        return out
    ranker = _Ranker(factors, n)
    chunk_size = max(1, min(chunk_size, ranker.max_chunk))
    d = factors.dim
    excl = exclude.tocsr() if exclude is not None else None
    starts = list(range(0, len(users), chunk_size))
    total = len(users)
    done = 0

    def work(start: int) -> tuple[int, np.ndarray]:
        rows = users[start : start + chunk_size]
        u = np.empty((len(rows), d + 1), dtype=np.float32)
        u[:, :d] = factors.user_vectors[rows]
        u[:, d] = 1.0
        er = ec = None
        if excl is not None:
            sub = excl[rows]
            er = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
            ec = sub.indices
        return start, ranker.chunk(u, er, ec)

    workers = threads if threads is not None else min(2, os.cpu_count() or 1)
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(work, starts) if workers > 1 and len(starts) > 1 else map(work, starts)
        for start, top in results:
            out[start : start + len(top)] = top
            done += len(top)
            if on_progress:
                on_progress(done, total)
    return out


def _gram(factors: Factors) -> np.ndarray:
    """V^T V of the movie vectors, cached on the factors object (d x d, computed once)."""
    g = getattr(factors, "_gram_cache", None)
    if g is None:
        v = factors.movie_vectors.astype(np.float64)
        g = v.T @ v
        factors._gram_cache = g  # type: ignore[attr-defined]
    return g


def implicit_solve(
    factors: Factors, movie_indexes: np.ndarray, *, alpha: float | None = None, reg: float | None = None
) -> np.ndarray:
    """The raw implicit least-squares user vector (before the calibration map).

    Solves min_u sum_rated (1+alpha)(1 - u.v)^2 + sum_unrated (u.v)^2 + reg |u|^2, i.e.
    (V^T V + alpha V_r^T V_r + reg I) u = (1+alpha) sum_r v: every movie is a
    weak "not chosen" and the rated ones are "chosen", which is what the ranking
    objective learned; V^T V is cached, so one solve costs O(n_rated d^2 + d^3).

    Args:
        factors: the factors.
        movie_indexes: rated movies.
        alpha: confidence of a rated movie (default: the artefact's fold-in setting).
        reg: ridge term (default: the artefact's setting).

    Returns:
        float64 [dim].
    """
    alpha = float(factors.head.get("fold_alpha", 20.0)) if alpha is None else alpha
    reg = float(factors.head.get("fold_reg", 1.0)) if reg is None else reg
    v = factors.movie_vectors[np.asarray(movie_indexes, dtype=np.int64)].astype(np.float64)
    a = _gram(factors) + alpha * (v.T @ v) + reg * np.eye(v.shape[1])
    b = (1.0 + alpha) * v.sum(axis=0)
    return np.linalg.solve(a, b)


def fold_in(
    factors: Factors, movie_indexes: np.ndarray | list[int], ratings: np.ndarray | list[float], *, reg: float = 1.0
) -> UserVector:
    """A user's vector from their (movie, rating) pairs, against fixed movie factors.

    Steps:
        1. Ranking/shared vector. Joint head: the implicit least-squares solve
           (implicit_solve) mapped by the calibration matrix fitted at export on
           trained users (head["fold_map"]), so a folded-in vector lives where the
           trained ones do. Sigmoid (tutorial) head: none of that; step 2 solves it.
        2. Rating side, a ridge least-squares solve on the stars with the vector of
           step 1 fixed: joint head -> the user's rating vector and bias from the
           residual r - mean - movie bias - u.w.v; sigmoid head -> [u, bias] from the
           stars mapped through the inverse sigmoid.

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
        return UserVector(np.zeros(d, dtype=np.float32), 0.0, _zero_rating_vector(factors))
    head = factors.head
    if head["kind"] == "sigmoid":
        # Invert the output: stars -> the pre-sigmoid sum u.v + b_u + b_m.
        y = np.clip((r - low) / (high - low), 0.02, 0.98)
        x = (np.log(y / (1 - y)) - float(head["bias"])) / float(head["kernel"])
        target = x - np.asarray(head["movie_bias"], dtype=np.float64)[m]
        feats = np.hstack([factors.movie_vectors[m].astype(np.float64), np.ones((len(m), 1))])
        sol = _ridge(feats, target, reg, unpenalised_last=True)
        return UserVector(sol[:d].astype(np.float32), float(sol[d]), np.zeros(0, dtype=np.float32))
    raw = implicit_solve(factors, m)
    u = raw @ np.asarray(head["fold_map"], dtype=np.float64) if "fold_map" in head else raw
    v = factors.movie_vectors[m].astype(np.float64)
    resid = (
        r
        - float(head["global_mean"])
        - np.asarray(head["movie_bias"], dtype=np.float64)[m]
        - (v * np.asarray(head["weight"], dtype=np.float64)) @ u
    )
    q = np.asarray(head["movie_rating_vectors"], dtype=np.float64)[m]
    feats = np.hstack([q, np.ones((len(m), 1))])
    sol = _ridge(feats, resid, reg, unpenalised_last=False)
    return UserVector(u.astype(np.float32), float(sol[-1]), sol[:-1].astype(np.float32))


def _zero_rating_vector(factors: Factors) -> np.ndarray:
    q = factors.head.get("movie_rating_vectors")
    return np.zeros(0 if q is None else q.shape[1], dtype=np.float32)


def _ridge(x: np.ndarray, y: np.ndarray, reg: float, *, unpenalised_last: bool) -> np.ndarray:
    """Solve (X^T X + reg D) w = X^T y; D is the identity, optionally sparing the bias column."""
    pen = np.full(x.shape[1], reg)
    if unpenalised_last:
        pen[-1] = 1e-3  # the bias is not shrunk (barely: keeps the system solvable for one rating)
    return np.linalg.solve(x.T @ x + np.diag(pen), x.T @ y)


def fit_fold_map(
    factors: Factors, user: np.ndarray, movie: np.ndarray, *, max_users: int = 3000, seed: int = 0
) -> np.ndarray:
    """The calibration matrix of fold_in: maps implicit solves to trained user vectors.

    Fitted by ridge least squares over up to max_users trained users: each user's
    implicit_solve from their training movies, regressed onto their trained vector.

    Args:
        factors: trained factors (joint head).
        user: user index per training rating.
        movie: movie index per training rating.
        max_users: how many users to fit on (cost grows with it; a few thousand suffice).
        seed: which users.

    Returns:
        float32 [dim, dim]: u_trained ~= implicit_solve(...) @ map.
    """
    rng = np.random.default_rng(seed)
    users = np.unique(user)
    if len(users) > max_users:
        users = rng.choice(users, max_users, replace=False)
    order = np.argsort(user, kind="stable")
    su, sm = user[order], movie[order]
    starts = np.searchsorted(su, users, side="left")
    ends = np.searchsorted(su, users, side="right")
    raw = np.stack([implicit_solve(factors, sm[a:b]) for a, b in zip(starts, ends, strict=True)])
    target = factors.user_vectors[users].astype(np.float64)
    d = raw.shape[1]
    reg = 1e-3 * np.trace(raw.T @ raw) / d
    return np.linalg.solve(raw.T @ raw + reg * np.eye(d), raw.T @ target).astype(np.float32)
