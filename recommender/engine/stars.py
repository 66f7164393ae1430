"""How a rating's stars count as taste: how strongly it says "for me", or "not for me".

Numpy only: training weighs the ranking loss with these, and fold-in weighs a new user's ratings
the same way, so a folded-in user is read as the model learned to read trained ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StarSettings:
    """How stars count as taste: StarWeights applies these, and model.JointConfig trains with them.

    Attributes:
        dislike_at: ratings at or below this say "not for me" (explicit negatives). Kept low: with
            2-star ratings as negatives the shared vectors learn less of what the star head reads,
            and the stars get worse.
        like_at: the stars that count as one full "chosen" (weight 1; fewer weigh less, more up to
            max_positive).
        max_positive: the cap of the positive weight (5 stars weigh this much).
        dislike_weight: the weight of an explicit negative.
    """

    dislike_at: float = 1.0
    like_at: float = 2.5
    max_positive: float = 1.0
    dislike_weight: float = 1.0


@dataclass(frozen=True)
class StarWeights(StarSettings):
    """Positive weight rising with the stars; ratings at or below `dislike_at` are negatives.

    positive() and negative() take an array of stars and give float64 weights of the same shape.
    """

    def positive(self, stars: np.ndarray) -> np.ndarray:
        """How much each of the ratings says "chosen": 0 at dislike_at and below, 1 at like_at."""
        s = np.asarray(stars, dtype=np.float64)
        return np.clip((s - self.dislike_at) / (self.like_at - self.dislike_at), 0.0, self.max_positive)

    def negative(self, stars: np.ndarray) -> np.ndarray:
        """How much each of the ratings says "not for me": dislike_weight at dislike_at and below, else 0."""
        s = np.asarray(stars, dtype=np.float64)
        return np.where(s <= self.dislike_at, self.dislike_weight, 0.0)

    def head_arrays(self) -> dict[str, np.float32]:
        """The settings as head entries of an artefact (fold-in reads them back)."""
        return {
            "dislike_at": np.float32(self.dislike_at),
            "like_at": np.float32(self.like_at),
            "max_positive": np.float32(self.max_positive),
            "dislike_weight": np.float32(self.dislike_weight),
        }

    @classmethod
    def from_head(cls, head: dict[str, Any]) -> StarWeights:
        """The settings an artefact was trained with (the defaults for one from before them).

        Args:
            head: Factors.head.

        Returns:
            StarWeights.
        """
        if "like_at" not in head:
            return cls()
        return cls(
            float(head["dislike_at"]),
            float(head["like_at"]),
            float(head["max_positive"]),
            float(head["dislike_weight"]),
        )
