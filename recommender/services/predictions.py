"""Predicted stars of one user for given movies, or for the whole catalogue (browse sort).

Same fold-in as the picks (picks.user_side): a user who rated since the training
snapshot gets a folded-in vector, so predictions move as soon as they rate.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from recommender.services.factors_cache import active_factors
from recommender.services.picks import user_side

# (movie ids, stars), best first: the whole catalogue ranked for one user.
PredictedOrder = tuple[np.ndarray, np.ndarray]


def predicted_stars(user: object, movie_ids: list[int]) -> dict[int, float]:
    """movie id -> predicted stars (0.5-5.0) for the user; empty without a model or ratings.

    Movies the model does not know (added after training) are left out.
    """
    user_id = getattr(user, "pk", None)
    loaded = active_factors() if user_id is not None and movie_ids else None
    if loaded is None:
        return {}
    _, factors = loaded
    side = user_side(factors, user_id)
    if side is None:
        return {}
    ids = np.asarray(list(movie_ids), dtype=np.int64)
    indexes = factors.movies.index(ids, unknown="missing")
    known = indexes >= 0
    if not known.any():
        return {}
    stars = factors.predict_ratings(side, indexes[known])
    return {int(m): float(s) for m, s in zip(ids[known].tolist(), stars, strict=True)}


def predicted_order(user: object) -> PredictedOrder | None:
    """(movie ids, stars) over the whole catalogue, best first, for the browse sort.

    One numpy pass over every movie vector (milliseconds on 62k movies); the caller
    intersects with its filtered queryset and fetches one page. None without a model
    or without ratings (nothing personal to sort by).
    """
    user_id = getattr(user, "pk", None)
    loaded = active_factors() if user_id is not None else None
    if loaded is None:
        return None
    _, factors = loaded
    side = user_side(factors, user_id)
    if side is None:
        return None
    stars = np.asarray(factors.predict_ratings(side, np.arange(factors.n_movies)), dtype=np.float32)
    order = np.argsort(-stars, kind="stable")
    return factors.movie_ids[order], stars[order]


def predicted_page_order(order: PredictedOrder, filtered_ids: Iterable[int]) -> tuple[list[int], dict[int, float]]:
    """The filtered movies ranked by predicted stars (movies the model does not know go last),
    and movie id -> stars for the ranked ones.

    `order` is predicted_order's answer; `filtered_ids` the ids a page's filters allow (one
    query of integers), so the caller then loads only the movies of the page it shows.
    """
    ranked_ids, stars = order
    filtered = np.fromiter(filtered_ids, dtype=np.int64)
    keep = np.isin(ranked_ids, filtered)
    ids = ranked_ids[keep].tolist() + np.setdiff1d(filtered, ranked_ids).tolist()
    return ids, dict(zip(ranked_ids[keep].tolist(), stars[keep].tolist(), strict=True))
