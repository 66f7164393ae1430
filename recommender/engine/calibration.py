"""The stars' calibration: how much each term of the star head counts on movies a person has not rated.

The star head trains on the ratings the ranking pass fitted the shared vectors to. There u . v has
learned each rating, so the star term sum(u * w * v) is larger than on a movie the person has not
rated, which is every movie a card shows: uncorrected, the stars fall short there (bench/README.md).
The fix is a least-squares fit, on validation ratings the shared vectors never saw, of one factor
per term of the stars (and an offset). It is folded into the head's parameters, so every reader of
the stars (Factors.predict_pairs, fold-in) gets calibrated stars unchanged. The pick score keeps
the mix of terms the model was trained with: head["pick_blends"] holds the star blend divided by
each term's factor (ranking.pick_space reads it).
"""

from __future__ import annotations

import numpy as np

from recommender.engine.dataset import Ratings
from recommender.engine.factors import Factors

# The columns of star_terms and the entries of a calibration.
TERMS = ("offset", "user_bias", "movie_bias", "star_term", "head_term")
IDENTITY = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
# Five numbers need far fewer ratings than a large set's validation share: a seeded sample this big.
MAX_ROWS = 200_000


def star_terms(factors: Factors, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
    """The joint head's terms of the stars for (user, movie) rows, global mean left out.

    Returns:
        float64 [n, len(TERMS)]: 1, b_u, b_m, sum(u * w * v), p_u . q_m.
    """
    h = factors.head
    u, m = np.asarray(users, dtype=np.int64), np.asarray(movies, dtype=np.int64)
    user_bias, movie_bias = factors.user_bias[u], np.asarray(h["movie_bias"])[m]
    star = np.sum(factors.user_vectors[u] * h["weight"] * factors.movie_vectors[m], axis=1)
    own = np.sum(h["user_rating_vectors"][u] * h["movie_rating_vectors"][m], axis=1)
    return np.stack([np.ones(len(u)), user_bias, movie_bias, star, own], axis=1).astype(np.float64)


def fit_calibration(factors: Factors, val: Ratings) -> np.ndarray:
    """Each term's factor (and the offset) that fits the validation stars best, by least squares.

    Args:
        factors: a joint head trained without `val`'s ratings.
        val: validation ratings (indexes of the factors' users and movies); a sample of MAX_ROWS
            of them when there are more.

    Returns:
        float64 [len(TERMS)]; IDENTITY when there are too few ratings to fit.
    """
    if len(val) < 10 * len(TERMS):
        return IDENTITY.copy()
    if len(val) > MAX_ROWS:
        val = val.subset(np.sort(np.random.default_rng(0).choice(len(val), MAX_ROWS, replace=False)))
    x = star_terms(factors, val.user, val.movie)
    y = val.rating.astype(np.float64) - float(factors.head["global_mean"])
    return np.linalg.lstsq(x, y, rcond=None)[0]


def apply_calibration(factors: Factors, coef: np.ndarray, blend: float) -> None:
    """Fold a calibration into the head's parameters, in place; the pick score keeps its mix.

    The head-term factor scales the users' own vectors, not the movies': similar movies read those.

    Args:
        factors: the joint head to change.
        coef: from fit_calibration.
        blend: the star blend of the pick score.
    """
    offset, user_bias, movie_bias, star_term, head_term = (float(c) for c in coef)
    h = factors.head
    h["global_mean"] = np.float32(float(h["global_mean"]) + offset)
    factors.user_bias = (factors.user_bias * user_bias).astype(np.float32)
    h["movie_bias"] = (np.asarray(h["movie_bias"]) * movie_bias).astype(np.float32)
    h["weight"] = (np.asarray(h["weight"]) * star_term).astype(np.float32)
    h["user_rating_vectors"] = (np.asarray(h["user_rating_vectors"]) * head_term).astype(np.float32)
    old = np.asarray(h.get("pick_blends", [blend] * 3), dtype=np.float64)
    h["pick_blends"] = (old / _nonzero(np.array([star_term, movie_bias, head_term]))).astype(np.float32)


def _nonzero(x: np.ndarray) -> np.ndarray:
    """Factors the pick blends can be divided by: a term fitted to exactly 0 counts as 1."""
    return np.where(np.abs(x) > 1e-6, x, 1.0)
