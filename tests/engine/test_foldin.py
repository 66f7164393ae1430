"""Fold-in of one person's ratings (and of many at once): what the stars say, the bands and the popularity prior."""

import numpy as np
import pytest

from recommender.engine.foldin import (
    BAND_LIMITS,
    band,
    fit_fold_offsets,
    fold_in,
    fold_in_many,
    implicit_solve,
    prior_weight,
    top_per_weight,
)
from recommender.engine.ranking import recommend, scores_for
from tests.engine.conftest import random_factors


def _movie(factors, raw_id: int) -> int:
    return factors.movie_index(raw_id)


def test_a_one_star_rating_pushes_movies_like_it_away(trained_default):
    f = trained_default.factors
    liked = [_movie(f, m) for m in (1000, 1001, 1002)]  # group 0's movies
    others = np.array([_movie(f, m) for m in range(1004, 1030)])
    fan = fold_in(f, liked, [5.0, 5.0, 5.0])
    # The same person also found one movie of that kind bad: its kind moves down.
    let_down = fold_in(f, [*liked, _movie(f, 1003)], [5.0, 5.0, 5.0, 1.0])
    assert scores_for(f, let_down)[others].mean() < scores_for(f, fan)[others].mean()


def test_the_stars_decide_what_a_rated_movie_says_not_only_that_it_was_rated(trained_default):
    f = trained_default.factors
    rated = [_movie(f, m) for m in (1000, 1001, 1030, 1031)]
    loves_first = fold_in(f, rated, [5.0, 5.0, 1.0, 1.0])
    loves_second = fold_in(f, rated, [1.0, 1.0, 5.0, 5.0])
    a, _ = recommend(f, user_vector=loves_first, n=10, exclude=rated)
    b, _ = recommend(f, user_vector=loves_second, n=10, exclude=rated)
    assert not set(a.tolist()) & set(b.tolist())
    assert all(f.movie_ids[i] < 1030 for i in a)
    assert all(f.movie_ids[i] >= 1030 for i in b)


def test_implicit_solve_reads_a_low_rating_as_not_chosen_and_a_high_one_as_chosen(trained_default):
    f = trained_default.factors
    m = [_movie(f, 1000), _movie(f, 1001)]
    v = f.movie_vectors[m[1]]
    liked_both = implicit_solve(f, m, np.array([5.0, 5.0]))
    lukewarm = implicit_solve(f, m, np.array([5.0, 2.0]))
    disliked_second = implicit_solve(f, m, np.array([5.0, 1.0]))
    assert disliked_second @ v < lukewarm @ v < liked_both @ v
    # A firm "not chosen" holds the movie's score near zero, where it would be "chosen" (one).
    assert abs(disliked_second @ v) < abs(1.0 - disliked_second @ v)


@pytest.mark.parametrize(("n", "expected"), [(0, 0), (7, 0), (8, 1), (60, 3), (61, 4), (10_000, 4)])
def test_each_number_of_ratings_falls_in_one_band(n, expected):
    assert band(n) == expected


def test_the_popularity_prior_weight_follows_the_number_of_ratings(trained_default):
    f = trained_default.factors
    weights = np.asarray(f.head["prior_weights"])
    assert weights.shape == (len(BAND_LIMITS) + 1,)
    assert prior_weight(f, 3) == weights[0] and prior_weight(f, 500) == weights[-1]
    user = fold_in(f, [_movie(f, 1000)], [5.0])
    assert user.prior == weights[0]


def test_folding_in_many_people_at_once_equals_folding_each_in(trained_default):
    f = trained_default.factors
    rng = np.random.default_rng(3)
    movies = [rng.choice(f.n_movies, size, replace=False) for size in (1, 3, 3, 7, 12, 12, 12)]
    stars = [rng.choice([0.5, 2.0, 3.5, 5.0], len(m)) for m in movies]
    vectors, _, rating_vectors = fold_in_many(f, movies, stars)
    for i, (m, s) in enumerate(zip(movies, stars, strict=True)):
        one = fold_in(f, m, s)
        np.testing.assert_allclose(vectors[i], one.vector, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rating_vectors[i], one.rating_vector, rtol=1e-4, atol=1e-5)


def test_the_prior_fit_ranks_each_weight_as_a_full_sort_would():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(300, 500)).astype(np.float32)
    base[rng.random(base.shape) < 0.05] = -np.inf  # movies the person rated
    prior = rng.normal(size=500).astype(np.float32)
    weights = (1.6, 1.0, 0.4, 0.0, 2.5)
    for weight, top in zip(weights, top_per_weight(base, prior, weights, 10), strict=True):
        scores = base + np.float32(weight) * prior
        assert np.array_equal(top, np.argsort(-scores, axis=1, kind="stable")[:, :10])


def test_the_fold_offset_is_the_mean_error_of_folded_in_people_and_removes_it():
    f = random_factors(n_users=40, n_movies=300, dim=6)
    rng = np.random.default_rng(5)
    fit, val = [], []
    for user in range(f.n_users):
        movies = rng.choice(f.n_movies, 40, replace=False)
        stars = rng.integers(1, 6, 40).astype(np.float64)
        fit += [(user, m, s) for m, s in zip(movies[:30], stars[:30], strict=True)]
        val += [(user, m, min(s + 1.0, 5.0)) for m, s in zip(movies[30:], stars[30:], strict=True)]  # a kinder mood
    fit_cols, val_cols = (tuple(np.array(c) for c in zip(*rows, strict=True)) for rows in (fit, val))
    offsets = fit_fold_offsets(f, fit_cols, val_cols)

    def mean_error() -> float:
        # With 30 ratings the 100-rating band's handful is every training rating: the same people.
        errors = []
        for user in range(f.n_users):
            mine, theirs = fit_cols[0] == user, val_cols[0] == user
            person = fold_in(f, fit_cols[1][mine], fit_cols[2][mine])
            errors += list(val_cols[2][theirs] - f.predict_ratings(person, val_cols[1][theirs]))
        return float(np.mean(errors))

    before = mean_error()
    assert offsets[-1] == pytest.approx(before, abs=1e-4)
    assert before > 0.5
    f.head["fold_offsets"] = offsets
    assert abs(mean_error()) < 0.15 * before  # what is left: stars clipped at the top of the scale
