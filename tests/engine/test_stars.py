"""How many stars make a rating say "chosen" or "not for me", and how the weights travel."""

import numpy as np

from recommender.engine.stars import StarWeights


def test_a_low_rating_is_a_negative_and_a_higher_one_a_positive_growing_with_its_stars():
    w = StarWeights(dislike_at=1.0, like_at=2.5, max_positive=1.0, dislike_weight=2.0)
    stars = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 4.0, 5.0])
    np.testing.assert_allclose(w.positive(stars), [0, 0, 1 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(w.negative(stars), [2, 2, 0, 0, 0, 0, 0])


def test_the_weights_travel_in_an_artefacts_head():
    w = StarWeights(dislike_at=2.0, like_at=4.0, max_positive=1.5, dislike_weight=0.5)
    assert StarWeights.from_head({"kind": "joint", **w.head_arrays()}) == w
    assert StarWeights.from_head({"kind": "joint"}) == StarWeights()
