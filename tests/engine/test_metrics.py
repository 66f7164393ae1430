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
