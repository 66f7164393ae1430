"""Per-epoch validation: RMSE and nDCG@10 of a held-out share of each user's ratings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.engine import metrics
from recommender.engine.dataset import Ratings, interactions
from recommender.engine.factors import Factors
from recommender.engine.ranking import recommend_all


@dataclass
class Validator:
    """Per-epoch validation RMSE and nDCG@10 computed from exported numpy factors."""

    fit: Ratings
    val: Ratings
    max_users: int
    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        users = np.unique(self.val.user)
        if len(users) > self.max_users:
            users = np.sort(rng.choice(users, self.max_users, replace=False))
        self.users = users
        n_u, n_m = self.fit.n_users, self.fit.n_movies
        self.seen = interactions(self.fit.user, self.fit.movie, n_u, n_m)  # rows by user index, as recommend_all wants
        self.relevant = interactions(self.val.user, self.val.movie, n_u, n_m)[users]

    def rmse(self, factors: Factors) -> float:
        if len(self.val) == 0:
            return float("nan")
        pred = factors.predict_pairs(
            factors.user_vectors[self.val.user],
            factors.user_bias[self.val.user],
            factors.head["user_rating_vectors"][self.val.user] if "user_rating_vectors" in factors.head else None,
            self.val.movie,
        )
        return metrics.rmse(pred, self.val.rating)

    def __call__(self, factors: Factors) -> tuple[float, float]:
        if len(self.val) == 0:
            return float("nan"), float("nan")
        rmse = self.rmse(factors)
        top = recommend_all(factors, n=10, exclude=self.seen, users=self.users)
        # recommend_all's rows follow self.users, and so do relevant's.
        ndcg = metrics.top_n_metrics(top, self.relevant, k=10)["ndcg"]
        return rmse, ndcg


def low_high(data: Ratings) -> tuple[float, float]:
    low, high = float(data.rating.min()), float(data.rating.max())
    if high <= low:
        high = low + 1.0  # one distinct star value: keep the scale invertible
    return low, high
