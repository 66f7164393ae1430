"""The stars' calibration: fitted on ratings the head did not train on, folded into the head, picks unchanged."""

import numpy as np

from recommender.engine import foldin
from recommender.engine.calibration import IDENTITY, TERMS, apply_calibration, fit_calibration, star_terms
from recommender.engine.dataset import Ratings
from recommender.engine.ids import IdIndex
from recommender.engine.ranking import scores_for
from tests.engine.conftest import random_factors


def _ratings(factors, users, movies, stars) -> Ratings:
    return Ratings(
        IdIndex(factors.user_ids), IdIndex(factors.movie_ids), users.astype(np.int32), movies.astype(np.int32), stars
    )


def _pairs(factors, n=3000, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, factors.n_users, n), rng.integers(0, factors.n_movies, n)


def test_it_recovers_each_terms_factor_and_the_calibrated_stars_are_the_validation_stars():
    f = random_factors(dim=6)
    users, movies = _pairs(f)
    truth = np.array([0.2, 1.3, 0.9, 0.7, 1.2])
    stars = float(f.head["global_mean"]) + star_terms(f, users, movies) @ truth
    f.head["low"], f.head["high"] = np.float32(-100), np.float32(100)  # no clipping: exact stars
    coef = fit_calibration(f, _ratings(f, users, movies, stars.astype(np.float32)))
    np.testing.assert_allclose(coef, truth, atol=1e-4)
    apply_calibration(f, coef, blend=0.85)
    np.testing.assert_allclose(
        f.predict_pairs(f.user_vectors[users], f.user_bias[users], f.head["user_rating_vectors"][users], movies),
        stars,
        atol=1e-3,
    )
    assert len(TERMS) == len(coef)


def test_the_pick_score_keeps_the_mix_the_model_trained_with():
    f = random_factors(dim=6)
    f.head["star_blend"] = np.float32(0.85)
    before = np.stack([scores_for(f, u) for u in range(f.n_users)])
    g = random_factors(dim=6)
    g.head["star_blend"] = np.float32(0.85)
    apply_calibration(g, np.array([0.3, 1.4, 1.2, 0.6, 1.5]), blend=0.85)
    after = np.stack([scores_for(g, u) for u in range(g.n_users)])
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4)
    # While the stars did change.
    assert not np.allclose(g.predict_ratings(0, np.arange(5)), f.predict_ratings(0, np.arange(5)))


def test_too_few_validation_ratings_leave_the_stars_as_trained():
    f = random_factors()
    users, movies = _pairs(f, n=20)
    coef = fit_calibration(f, _ratings(f, users, movies, np.full(20, 4.0, np.float32)))
    assert coef.tolist() == IDENTITY.tolist()


def test_a_trained_model_shows_calibrated_stars_and_says_how(trained_default):
    f, metrics = trained_default.factors, trained_default.metrics
    assert set(metrics["star_calibration"]) == set(TERMS)
    assert np.asarray(f.head["pick_blends"]).shape == (3,)


def test_the_prior_weight_fit_gives_the_same_weights_whatever_its_chunk_of_rows(trained_default, monkeypatch):
    f = trained_default.factors
    rng = np.random.default_rng(0)
    n = 3000
    fit = (rng.integers(0, f.n_users, n), rng.integers(0, f.n_movies, n), rng.choice([1.0, 3.0, 4.5, 5.0], n))
    val = (rng.integers(0, f.n_users, n // 3), rng.integers(0, f.n_movies, n // 3), np.full(n // 3, 4.5))
    whole = foldin.fit_prior_weights(f, fit, val, samples=(3, 3, 2, 1, 1))
    monkeypatch.setattr(foldin, "PRIOR_CHUNK_ROWS", 7)
    assert foldin.fit_prior_weights(f, fit, val, samples=(3, 3, 2, 1, 1)).tolist() == whole.tolist()


def test_a_large_validation_set_is_sampled_and_still_recovers_the_factors(monkeypatch):
    from recommender.engine import calibration

    monkeypatch.setattr(calibration, "MAX_ROWS", 500)
    f = random_factors(dim=6)
    users, movies = _pairs(f, n=5000)
    truth = np.array([-0.1, 0.8, 1.1, 1.4, 0.9])
    stars = float(f.head["global_mean"]) + star_terms(f, users, movies) @ truth
    np.testing.assert_allclose(fit_calibration(f, _ratings(f, users, movies, stars)), truth, atol=1e-4)
