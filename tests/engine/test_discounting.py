"""Impression discounting moves picks shown again and again down a person's list."""

import numpy as np

from recommender.engine.discounting import discounted


def test_nothing_shown_keeps_the_order():
    ranked = np.array([5, 3, 9, 1])
    assert discounted(ranked, {}, 0.5).tolist() == [5, 3, 9, 1]
    assert discounted(ranked, {5: 3}, 0.0).tolist() == [5, 3, 9, 1]


def test_a_pick_shown_often_moves_down_by_its_strength():
    ranked = np.arange(10, 20)
    # Rank 1 (key 1) shown twice at strength 0.5: key 2.25, after ranks 2 (key 2), before rank 3 (key 3).
    assert discounted(ranked, {10: 2}, 0.5).tolist()[:3] == [11, 10, 12]
    # Shown five times: key 7.6, so the movies ranked 2 to 7 (keys 2 to 7) all pass it.
    assert discounted(ranked, {10: 5}, 0.5).tolist().index(10) == 6


def test_stronger_discounting_moves_further():
    ranked = np.arange(100)
    weak = discounted(ranked, {0: 3}, 0.2).tolist().index(0)
    strong = discounted(ranked, {0: 3}, 1.0).tolist().index(0)
    assert weak < strong
