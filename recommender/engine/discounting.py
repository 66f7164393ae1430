"""Impression discounting: picks a person was shown again and again without acting move down their list."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def discounted(ranked: np.ndarray, shown: Mapping[int, int], strength: float) -> np.ndarray:
    """The list reordered by rank x (1 + strength) ** times shown without an action.

    Args:
        ranked: movie ids, best first.
        shown: movie id -> how many times (visits) it was shown; movies not in it count 0.
        strength: 0 leaves the order alone; 0.5 lets a pick shown twice be passed by the one
            ranked 2.25 times lower that was never shown.
    Returns:
        the same ids, reordered (stable for equal keys).
    """
    if strength <= 0 or not shown or len(ranked) == 0:
        return ranked
    counts = np.fromiter((shown.get(int(m), 0) for m in ranked), dtype=np.float64, count=len(ranked))
    if not counts.any():
        return ranked
    keys = (np.arange(len(ranked)) + 1.0) * np.power(1.0 + strength, counts)
    return ranked[np.argsort(keys, kind="stable")]
