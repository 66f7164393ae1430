"""Top-N from factors (one user, or every user in chunks) and fold-in of a user's ratings.

Pure numpy/scipy: this runs in web processes, which never import TensorFlow.
The ranking score of movie m for user u is ``u . v_m + movie_bias[m]``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from recommender.engine.factors import Factors, UserVector

NEG_INF = np.float32(-np.inf)


def _top_sorted(scores: np.ndarray, n: int) -> np.ndarray:
    """Indexes of the n best of a 1-D score array, best first; ties by lower index."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n < scores.shape[0]:  # noqa: SIM108 (two cases read clearer apart)
        part = np.argpartition(-scores, n - 1)[:n]
    else:
        part = np.arange(scores.shape[0])
    order = np.lexsort((part, -scores[part]))
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


def _block_size(n_movies: int, n: int) -> int:
    # The selection below partitions n_movies/B block maxima and then n*B candidates;
    # B near sqrt(n_movies / n) balances the two. A power of two, because block maxima are
    # taken by halving (B = 16 for 59,047 movies and n = 100).
    target = np.sqrt(n_movies / max(n, 1))
    return int(2 ** max(0, min(8, int(np.floor(np.log2(max(target, 1.0)))))))


class _Ranker:
    """Chunked exact top-n over every user, with the movie side prepared once.

    Steps for one chunk of users:
        1. The movies are cut into tiles of `tile` columns; each tile's scores come from one
           float32 BLAS product [chunk, dim+1] x [dim+1, tile] (the bias is the extra
           column, so no separate pass adds it), small enough to stay in the CPU cache
           while the next steps read it.
        2. Excluded (rated) entries and padding are set to -inf in the tile.
        3. Within a tile, the movies form B interleaved slabs, so the max over B contiguous
           slabs is one "block maximum" per group of B movies (a vectorised pass).
        4. The n best blocks by their maxima must hold the n best movies (each of the n best
           movies' blocks has a maximum at least the n-th best score, and at most n blocks
           have one), so only n*B candidates are gathered and partitioned, not every movie.
    """

    def __init__(self, factors: Factors, n: int, tile: int = 8000) -> None:
        m, d = factors.movie_vectors.shape
        self.n_movies = m
        self.n = min(n, m)
        self.block = b = _block_size(m, self.n)
        # Tiles hold whole blocks: tile = b * blocks_per_tile columns. Not a power of two: a
        # 8,192-float row stride made the BLAS product 5x slower here (cache-set conflicts).
        self.per_tile = max(1, min(tile // b, -(-m // b)))
        self.tile = b * self.per_tile
        self.n_tiles = -(-m // self.tile)
        self.n_blocks = self.n_tiles * self.per_tile
        padded = self.n_tiles * self.tile
        v = np.zeros((padded, d + 1), dtype=np.float32)
        v[:m, :d] = factors.movie_vectors
        v[:m, d] = factors.movie_bias
        # One contiguous [dim+1, tile] matrix per tile, so each product writes a contiguous tile.
        self.v_tiles = [np.ascontiguousarray(v[t * self.tile : (t + 1) * self.tile].T) for t in range(self.n_tiles)]
        self.pad_from = m
        self._local = threading.local()
        # Block k: tile k // per_tile, slab offset k % per_tile; member j sits at tile column j*per_tile + offset.
        k = np.arange(self.n_blocks)
        self.block_tile = k // self.per_tile
        self.block_offset = k % self.per_tile

    def _buffers(self, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Reused per thread: a fresh 240 MB array per chunk costs its page faults every time.
        buf = getattr(self._local, "buf", None)
        if buf is None or buf[0].shape[1] != c:
            buf = (
                np.empty((self.n_tiles, c, self.tile), dtype=np.float32),
                np.empty((c, self.n_blocks), dtype=np.float32),
                np.empty((c, self.tile // 2), dtype=np.float32),
            )
            self._local.buf = buf
        return buf

    def chunk(self, u: np.ndarray, exclude_rows: np.ndarray | None, exclude_cols: np.ndarray | None) -> np.ndarray:
        c = u.shape[0]
        n, b, pt, tw = self.n, self.block, self.per_tile, self.tile
        scores, bmax, halves = self._buffers(c)
        if exclude_rows is not None and len(exclude_rows):
            order = np.argsort(exclude_cols, kind="stable")
            er, ec = exclude_rows[order], exclude_cols[order]
            bounds = np.searchsorted(ec, np.arange(self.n_tiles + 1) * tw)
        else:
            er = ec = None
        for t in range(self.n_tiles):
            s = np.matmul(u, self.v_tiles[t], out=scores[t])
            lo = t * tw
            if lo + tw > self.pad_from:
                s[:, max(self.pad_from - lo, 0) :] = NEG_INF
            if er is not None:
                a, z = bounds[t], bounds[t + 1]
                s[er[a:z], ec[a:z] - lo] = NEG_INF
            # Block maxima by halving: max of the two halves, then of their halves ... log2(B)
            # contiguous, vectorised passes, each half the size of the one before.
            width = tw
            m = s
            while width > pt:
                width //= 2
                half = halves[:, :width]
                np.maximum(m[:, :width], m[:, width : 2 * width], out=half)
                m = half
            bmax[:, t * pt : (t + 1) * pt] = m
        nb = self.n_blocks
        nbk = min(n, nb)
        blocks = (
            np.argpartition(bmax, nb - nbk, axis=1)[:, nb - nbk :]
            if nbk < nb
            else np.broadcast_to(np.arange(nb), (c, nb))
        )
        # Flat positions in `scores` of every member of every chosen block.
        base = self.block_tile[blocks] * (c * tw) + np.arange(c)[:, None] * tw + self.block_offset[blocks]  # [c, nbk]
        flat = (base[:, None, :] + (np.arange(b) * pt)[None, :, None]).reshape(c, -1)
        cand = np.take(scores.reshape(-1), flat)
        k = cand.shape[1]
        part = np.argpartition(cand, k - n, axis=1)[:, k - n :] if n < k else np.broadcast_to(np.arange(k), (c, k))
        ps = np.take_along_axis(cand, part, axis=1)
        pf = np.take_along_axis(flat, part, axis=1)
        rem = pf % (c * tw)
        col = (pf // (c * tw)) * tw + rem % tw  # movie index
        # Best first, ties by lower movie index (what recommend() does): sort by index, then stably by score.
        o1 = np.argsort(col, axis=1, kind="stable")
        col, ps = np.take_along_axis(col, o1, axis=1), np.take_along_axis(ps, o1, axis=1)
        o2 = np.argsort(-ps, axis=1, kind="stable")
        col, ps = np.take_along_axis(col, o2, axis=1), np.take_along_axis(ps, o2, axis=1)
        return np.where(np.isfinite(ps), col, -1).astype(np.int32)


def recommend_all(
    factors: Factors,
    *,
    n: int = 100,
    exclude=None,
    chunk_size: int = 1024,
    users: np.ndarray | None = None,
    threads: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Exact top-n for many users, in chunks (see _Ranker for the method).

    Args:
        factors: the factors.
        n: list length.
        exclude: scipy.sparse.csr_matrix [n_users, n_movies] of movies to exclude
            (rated ones), rows indexed by user index; None excludes nothing.
        chunk_size: users per BLAS product; 1,024 x 59,047 scores is 242 MB.
        users: user indexes to rank (default: every user), e.g. one Celery task's slice.
        threads: chunks in flight at once (default 2): one chunk's selection runs while
            another's product runs, since numpy and BLAS release the GIL.
        on_progress: called with (users done, users total) after each chunk.

    Returns:
        int32 [len(users), n] movie indexes, best first; -1 pads a list when fewer than
        n movies are left after the exclusions.
    """
    users = np.arange(factors.n_users) if users is None else np.asarray(users, dtype=np.int64)
    out = np.full((len(users), min(n, factors.n_movies)), -1, dtype=np.int32)
    if len(users) == 0:
        return out
    ranker = _Ranker(factors, n)
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
    if workers <= 1 or len(starts) == 1:
        results = map(work, starts)
        for start, top in results:
            out[start : start + len(top)] = top
            done += len(top)
            if on_progress:
                on_progress(done, total)
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start, top in pool.map(work, starts):
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
