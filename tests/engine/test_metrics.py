"""The metrics, checked by hand: rating errors, top-N, disliked and low-star shares, personalisation."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.engine.metrics import mae, rmse, top_n_metrics


def test_rating_errors():
    assert rmse(np.array([1.0, 3.0]), np.array([2.0, 5.0])) == pytest.approx(np.sqrt(2.5))
    assert mae(np.array([1.0, 3.0]), np.array([2.0, 5.0])) == pytest.approx(1.5)


def test_top_n_metrics_by_hand():
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]]))
    recommended = np.array([[2, 1, 0], [0, 1, 2], [3, 4, 5]])
    m = top_n_metrics(recommended, relevant, k=3, n_movies=6)
    # user 0: hits at ranks 1 and 3; user 1: none; user 2 has nothing relevant and is skipped.
    assert m["users"] == 2
    assert m["precision"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["recall"] == pytest.approx((1 + 0) / 2)
    ndcg0 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert m["ndcg"] == pytest.approx(ndcg0 / 2)
    assert m["map"] == pytest.approx(((1 + 2 / 3) / 2) / 2)
    assert m["coverage"] == pytest.approx(3 / 6)


def test_disliked_share_is_the_share_of_each_top_k_rated_low_later():
    import scipy.sparse as sp

    from recommender.engine.metrics import disliked_share

    top = np.array([[0, 1, 2, 3], [4, 5, -1, -1]])
    disliked = sp.csr_matrix(([1, 1, 1], ([0, 0, 1], [1, 3, 9])), shape=(2, 10))
    assert disliked_share(top, disliked, k=4) == (2 / 4 + 0 / 4) / 2


def test_low_star_share_counts_stars_as_a_card_rounds_them():
    from recommender.engine.metrics import low_star_share

    # 2.96 shows as 3.0 (not low); 2.94 shows as 2.9 (low); NaN pads a short list.
    assert low_star_share(np.array([[2.96, 2.94], [4.0, np.nan]])) == 1 / 3


def test_personal_share_is_one_minus_the_mean_jaccard_of_every_pair():
    from recommender.engine.metrics import personal_share

    same = np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3]])
    apart = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    half = np.array([[1, 2], [2, 3]])  # share 1 of 3 distinct
    assert personal_share(same, k=3) == 0.0
    assert personal_share(apart, k=3) == 1.0
    assert abs(personal_share(half, k=2) - (1 - 1 / 3)) < 1e-12
