"""The Keras models: one score a pair, scores equal to numpy formulas, rebuilt from their config."""

import numpy as np

from recommender.engine.model import JointModel, TutorialModel


def _pairs(n_users: int, n_movies: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([rng.integers(0, n_users, n), rng.integers(0, n_movies, n)], axis=1).astype(np.int32)


def test_a_batch_of_n_pairs_gives_n_distinct_per_row_scores():
    # The copied keras-io bug (tensordot over the batch) gives every row the same sum.
    model = TutorialModel(6, 8, embedding_dim=4)
    x = np.array([[u, m] for u, m in zip(range(6), range(6), strict=True)], dtype=np.int32)
    out = np.asarray(model(x))
    assert out.shape == (6, 1)
    assert len(np.unique(np.round(out[:, 0], 6))) == 6
    joint = JointModel(6, 8, embedding_dim=4, rating_dim=2)
    res = joint(x)
    assert np.asarray(res["rating"]).shape == (6,)
    assert len(np.unique(np.round(np.asarray(res["score"]), 6))) == 6


def test_tutorial_score_equals_numpy_dot_plus_biases_with_hand_set_weights():
    model = TutorialModel(3, 4, embedding_dim=2)
    x = _pairs(3, 4, 10)
    model(x)  # build
    rng = np.random.default_rng(1)
    u, m = rng.normal(size=(3, 2)), rng.normal(size=(4, 2))
    bu, bm = rng.normal(size=(3, 1)), rng.normal(size=(4, 1))
    model.user_embedding.set_weights([u])
    model.movie_embedding.set_weights([m])
    model.user_bias.set_weights([bu])
    model.movie_bias.set_weights([bm])
    model.out.set_weights([np.array([[0.7]]), np.array([0.1])])
    expected = 1 / (1 + np.exp(-(0.7 * ((u[x[:, 0]] * m[x[:, 1]]).sum(1) + bu[x[:, 0], 0] + bm[x[:, 1], 0]) + 0.1)))
    np.testing.assert_allclose(np.asarray(model(x))[:, 0], expected, rtol=1e-5)


def test_joint_scores_equal_numpy_formulas_with_hand_set_weights():
    model = JointModel(3, 4, embedding_dim=2, rating_dim=2)
    rng = np.random.default_rng(2)
    ut = rng.normal(size=(4, 5)).astype(np.float32)  # u(2) | p(2) | b_u
    mt = rng.normal(size=(5, 6)).astype(np.float32)  # v(2) | q(2) | b_m | c_m
    w = np.array([0.5, -1.0], np.float32)
    model.user_table.assign(ut)
    model.movie_table.assign(mt)
    model.weight.assign(w)
    model.global_mean.assign(3.0)
    x = _pairs(3, 4, 12)
    u, m = ut[x[:, 0]], mt[x[:, 1]]
    res = model(x)
    rating = 3.0 + u[:, 4] + m[:, 4] + (u[:, :2] * w * m[:, :2]).sum(1) + (u[:, 2:4] * m[:, 2:4]).sum(1)
    np.testing.assert_allclose(np.asarray(res["rating"]), rating, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(res["score"]), (u[:, :2] * m[:, :2]).sum(1) + m[:, 5], rtol=1e-5)


def test_models_rebuild_from_their_config():
    model = TutorialModel(5, 7, embedding_dim=3, l2=1e-4)
    clone = TutorialModel.from_config(model.get_config())
    assert (clone.n_users, clone.n_movies, clone.embedding_dim, clone.l2) == (5, 7, 3, 1e-4)
    joint = JointModel(5, 7, embedding_dim=3, rating_dim=2, seed=9)
    again = JointModel.from_config(joint.get_config())
    np.testing.assert_array_equal(np.asarray(again.user_table), np.asarray(joint.user_table))
