"""Predicted stars of one user for given movies, or for the whole catalogue (browse sort).

Same fold-in as the picks (picks._user_state): a user who rated since the training
snapshot gets a folded-in vector, so predictions move as soon as they rate.
"""

from __future__ import annotations

import numpy as np

from recommender.services.factors_cache import active_factors
from recommender.services.picks import _user_state


def predicted_stars(user: object, movie_ids: list[int]) -> dict[int, float]:
    """movie id -> predicted stars (0.5-5.0) for the user; empty without a model or ratings.

    Movies the model does not know (added after training) are left out.
    """
    user_id = getattr(user, "pk", None)
    loaded = active_factors() if user_id is not None and movie_ids else None
    if loaded is None:
        return {}
    _, factors = loaded
    state, _ = _user_state(factors, user_id)
    if state is None:
        return {}
    ids = np.asarray(list(movie_ids), dtype=np.int64)
    indexes = factors.movies.index(ids, unknown="missing")
    known = indexes >= 0
    if not known.any():
        return {}
    stars = factors.predict_ratings(state.side, indexes[known])
    return {int(m): float(s) for m, s in zip(ids[known].tolist(), stars, strict=True)}


def predicted_order(user: object) -> tuple[np.ndarray, np.ndarray] | None:
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
    state, _ = _user_state(factors, user_id)
    if state is None:
        return None
    stars = np.asarray(factors.predict_ratings(state.side, np.arange(factors.n_movies)), dtype=np.float32)
    order = np.argsort(-stars, kind="stable")
    return factors.movie_ids[order], stars[order]
