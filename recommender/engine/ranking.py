"""Picks from factors: one user's top-n, or every user's in chunks, by the pick score (PickSpace).

Pure numpy (and threadpoolctl for recommend_all): this runs in web processes, which never
import TensorFlow.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

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


# A pick shown below this many stars tells the person they would not like it.
GOOD_STARS = 3.0


@dataclass(frozen=True)
class PickSpace:
    """The movie side of the pick score, prepared once per factors object.

    pick(u, m) = movies[m] . pick_vector(u) + u.prior * prior[m] + stars_bias[m], that is
    u . v_m + prior * c_m + blend * (the star head's movie-dependent part): the ranking score,
    with the popularity prior weighted per user and the predicted stars blended in, so the
    picks lean to what the person is predicted to rate highly.

    Attributes:
        movies: float32 [n_movies, dim (+ rating_dim)]: v_m, then the star head's q_m.
        prior: float32 [n_movies]: the ranking bias c_m (how often the movie is chosen).
        stars_bias: float32 [n_movies]: blend * the star head's movie bias.
        blend: the weight of the predicted stars (0 for the tutorial head).
        blends: the weights of the star term, the movie bias and the head's own term: all `blend`,
            unless the stars were calibrated (calibration.apply_calibration): then each is the
            blend divided by its term's factor, so the pick score keeps the mix the model trained with.
    """

    movies: np.ndarray
    prior: np.ndarray
    stars_bias: np.ndarray
    blend: float
    blends: tuple[float, float, float]


def pick_space(factors: Factors) -> PickSpace:
    """The factors' PickSpace, cached on the factors object.

    Args:
        factors: the factors.

    Returns:
        PickSpace.
    """
    cached = getattr(factors, "_pick_space", None)
    if cached is not None:
        return cached
    head = factors.head
    blend = float(head.get("star_blend", 0.0)) if head["kind"] == "joint" else 0.0
    star_term, movie_bias, head_term = (float(b) for b in head.get("pick_blends", (blend,) * 3))
    if blend:
        movies = np.hstack([factors.movie_vectors, np.asarray(head["movie_rating_vectors"], dtype=np.float32)])
        stars_bias = movie_bias * np.asarray(head["movie_bias"], dtype=np.float32)
    else:
        movies, stars_bias = factors.movie_vectors, np.zeros(factors.n_movies, dtype=np.float32)
    space = PickSpace(
        np.ascontiguousarray(movies, dtype=np.float32),
        np.asarray(factors.movie_bias, dtype=np.float32),
        stars_bias.astype(np.float32),
        blend,
        (star_term, movie_bias, head_term),
    )
    factors._pick_space = space  # type: ignore[attr-defined]
    return space


def _as_user(factors: Factors, user: int | UserVector | np.ndarray) -> UserVector:
    if isinstance(user, UserVector):
        return user
    if isinstance(user, np.ndarray):  # a bare embedding: no star head of its own
        return UserVector(np.asarray(user, dtype=np.float32))
    return factors.user(int(user))


def pick_vectors(factors: Factors, vectors: np.ndarray, rating_vectors: np.ndarray | None) -> np.ndarray:
    """Users' sides of the pick score: [u + blend * (w * u), blend * p_u] (u alone without a blend).

    Args:
        factors: the factors.
        vectors: float32 [n, dim] shared vectors.
        rating_vectors: float32 [n, rating_dim] star-head vectors (None or empty: zeros).

    Returns:
        float32 [n, pick dim].
    """
    space = pick_space(factors)
    u = np.asarray(vectors, dtype=np.float32)
    if not space.blend:
        return u
    w = np.asarray(factors.head["weight"], dtype=np.float32)
    k = space.movies.shape[1] - factors.dim
    p = np.zeros((u.shape[0], k), dtype=np.float32)
    if rating_vectors is not None and np.size(rating_vectors):
        p = np.asarray(rating_vectors, dtype=np.float32).reshape(u.shape[0], k)
    star_term, _, head_term = space.blends
    return np.hstack([u + star_term * (u * w), head_term * p]).astype(np.float32)


def scores_for(
    factors: Factors, user: int | UserVector | np.ndarray, movie_indexes: np.ndarray | None = None
) -> np.ndarray:
    """Pick scores of one user for every movie, or for some (see PickSpace).

    Args:
        factors: the factors.
        user: a user index, a UserVector (fold-in) or a raw embedding [dim].
        movie_indexes: the movies to score (default: every movie).

    Returns:
        float32 [n_movies], or one score per movie_indexes.
    """
    u = _as_user(factors, user)
    space = pick_space(factors)
    x = pick_vectors(factors, u.vector[None, :], u.rating_vector[None, :] if u.rating_vector.size else None)[0]
    m = slice(None) if movie_indexes is None else np.asarray(movie_indexes, dtype=np.int64)
    return space.movies[m] @ x + np.float32(u.prior) * space.prior[m] + space.stars_bias[m]


def _shown(stars: np.ndarray) -> np.ndarray:
    """Stars as a card shows them (one decimal)."""
    return np.round(np.asarray(stars, dtype=np.float64), 1)


def order_by_stars(stars: np.ndarray) -> np.ndarray:
    """The order that shows picks with the most stars (as cards show them) first; ties keep their order.

    Args:
        stars: predicted stars of picks, in pick-score order.

    Returns:
        int64 positions into `stars`.
    """
    return np.argsort(-_shown(stars), kind="stable")


def good_first(stars: np.ndarray) -> np.ndarray:
    """Positions of picks shown at GOOD_STARS or more, then the rest, each in their given order."""
    good = _shown(stars) >= GOOD_STARS
    return np.r_[np.flatnonzero(good), np.flatnonzero(~good)]


def recommend(
    factors: Factors,
    *,
    user_index: int | None = None,
    user_vector: UserVector | np.ndarray | None = None,
    n: int = 10,
    exclude: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One user's top-n movies by pick score, excluding some (usually the movies they rated).

    No pick predicted below GOOD_STARS comes before one at GOOD_STARS or more: the best
    4n by pick score are looked at first, and the whole catalogue when fewer than n of them
    reach GOOD_STARS.

    Args:
        factors: the factors.
        user_index: a trained user's row; or
        user_vector: a UserVector from fold_in (or a raw embedding).
        n: how many picks.
        exclude: movie indexes never to return.

    Returns:
        (movie_indexes int32 [<=n], scores float32 [<=n]), in pick-score order within the picks at
        GOOD_STARS or more, then the others; shorter than n only when fewer than n movies are
        left after the exclusions.
    """
    if (user_index is None) == (user_vector is None):
        raise ValueError("give exactly one of user_index and user_vector")
    user = _as_user(factors, user_vector if user_vector is not None else user_index)
    scores = scores_for(factors, user)
    if exclude is not None and len(exclude):
        scores[np.asarray(exclude, dtype=np.int64)] = NEG_INF
    n = min(n, scores.shape[0])
    top = _top_sorted(scores, min(4 * n, scores.shape[0]))
    top = top[np.isfinite(scores[top])]
    stars = factors.predict_ratings(user, top)
    if np.count_nonzero(_shown(stars) >= GOOD_STARS) < min(n, len(top)) and len(top) < np.isfinite(scores).sum():
        # Too few good ones near the top: the good ones of the whole catalogue come first.
        good = _shown(factors.predict_ratings(user, np.arange(factors.n_movies))) >= GOOD_STARS
        parts = []
        for keep in (good, ~good):
            part = np.where(keep, scores, NEG_INF)
            chosen = _top_sorted(part, n)
            parts.append(chosen[np.isfinite(part[chosen])])
        top = np.concatenate(parts)[:n]
    else:
        top = top[good_first(stars)][:n]
    return top.astype(np.int32), scores[top].astype(np.float32)


def _in_pick_space(factors: Factors) -> Factors:
    """Factors whose plain score u . v + bias is the pick score of trained users (prior weight 1).

    The per-user constant of the stars (global mean and user bias) leaves the order alone, so
    the pick score is one dot product plus a movie bias: what _Ranker ranks by.
    """
    space = pick_space(factors)
    if not space.blend:
        return factors
    rating_vectors = factors.head.get("user_rating_vectors")
    return replace(
        factors,
        user_vectors=pick_vectors(factors, factors.user_vectors, rating_vectors),
        movie_vectors=space.movies,
        movie_bias=space.prior + space.stars_bias,
    )


def _prepared(factors: Factors, n: int) -> tuple[Factors, _Ranker]:
    """The factors in pick space and their _Ranker for lists of n, cached on the factors object.

    A list worker ranks one version chunk after chunk, each task with the same (cached)
    factors: the movie side is then sorted and tiled once per process, not once per chunk.
    """
    cached = getattr(factors, "_ranker_cache", None)
    if cached is None or cached[0] != n:
        space = _in_pick_space(factors)
        cached = (n, space, _Ranker(space, n))
        factors._ranker_cache = cached  # type: ignore[attr-defined]
    return cached[1], cached[2]


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
    them oversubscribe the cores (bench/README.md).

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
    factors, ranker = _prepared(factors, n)
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
