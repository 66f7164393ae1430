"""A popularity-only version made from trained factors without training: everybody's picks are the most rated movies.

Used as the weak side of online comparisons (the simulation bench, tests): same ids and star head
as the factors it comes from, so stars on the cards still mean something, but no taste at all.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from recommender.engine.factors import Factors


def popularity_factors(factors: Factors, counts: np.ndarray) -> Factors:
    """Factors whose pick score is log(1 + ratings count) for every person.

    Args:
        factors: trained factors (their ids and star head are kept).
        counts: ratings per movie, aligned with factors.movie_ids.
    Returns:
        new Factors: zero user and movie vectors, ranking bias log1p(counts), no star blend, and
        the star head's personal parts (weights, rating vectors) zeroed.
    """
    head = dict(factors.head)
    head["star_blend"] = np.float32(0.0)
    for key in ("user_rating_vectors", "movie_rating_vectors"):
        if key in head:
            head[key] = np.zeros_like(np.asarray(head[key]))
    return dataclasses.replace(
        factors,
        user_vectors=np.zeros_like(factors.user_vectors),
        movie_vectors=np.zeros_like(factors.movie_vectors),
        movie_bias=np.log1p(np.asarray(counts, dtype=np.float64)).astype(np.float32),
        head=head,
        metadata={**factors.metadata, "preset": "popularity"},
    )
