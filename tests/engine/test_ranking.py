"""Top-N picks: brute-force equal, stars first, exclusions, every user at once, and fold-in picks."""

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from recommender.engine.factors import Factors
from recommender.engine.foldin import fold_in
from recommender.engine.ranking import GOOD_STARS, _Ranker, order_by_stars, recommend, recommend_all, scores_for
from tests.engine.conftest import random_factors


def test_top_n_matches_a_numpy_brute_force_sort(factors):
    scores = factors.movie_vectors @ factors.user_vectors[4] + factors.movie_bias
    stars = np.round(factors.predict_ratings(4, np.arange(factors.n_movies)), 1)
    # Picks shown at 3 stars or more come first, each part by score.
    expected = np.lexsort((-scores, stars < GOOD_STARS))[:15]
    idx, got = recommend(factors, user_index=4, n=15)
    assert idx.tolist() == expected.tolist()
    np.testing.assert_allclose(got, scores[expected], rtol=1e-6)


def test_no_pick_below_three_stars_comes_before_one_at_three_or_more(factors):
    for user in range(factors.n_users):
        idx, _ = recommend(factors, user_index=user, n=10)
        good = np.round(factors.predict_ratings(user, idx), 1) >= GOOD_STARS
        everywhere = np.round(factors.predict_ratings(user, np.arange(factors.n_movies)), 1) >= GOOD_STARS
        assert good.sum() == min(10, everywhere.sum())
        assert not (np.diff(good.astype(int)) > 0).any(), "a good pick after a low one"


def test_pick_scores_blend_the_predicted_stars_in(factors):
    from dataclasses import replace

    blended = replace(factors, head={**factors.head, "star_blend": np.float32(1.0)})
    user = blended.user(2)
    stars = blended.predict_ratings(user, np.arange(blended.n_movies))
    plain = blended.movie_vectors @ user.vector + blended.movie_bias
    # The pick score is the ranking score plus the stars, up to a constant per user.
    gap = scores_for(blended, user) - (plain + stars)
    unclipped = (stars > 0.5) & (stars < 5.0)
    np.testing.assert_allclose(gap[unclipped], gap[unclipped][0], atol=1e-4)


def test_order_by_stars_shows_the_most_stars_first_and_keeps_ties_in_order():
    assert order_by_stars(np.array([3.42, 4.1, 3.38, 4.14])).tolist() == [1, 3, 0, 2]


def test_it_excludes_movies_already_rated(factors):
    full, _ = recommend(factors, user_index=1, n=10)
    idx, _ = recommend(factors, user_index=1, n=10, exclude=full[:5])
    assert not set(idx) & set(full[:5])
    assert idx[:5].tolist() == full[5:].tolist()


def test_it_returns_a_short_list_when_almost_everything_is_rated():
    f = random_factors(n_users=3, n_movies=12)
    idx, _ = recommend(f, user_index=0, n=10, exclude=np.arange(9))
    assert sorted(idx.tolist()) == [9, 10, 11]


def _every_movie_liked(f: Factors) -> Factors:
    """Stars of 5 everywhere: recommend()'s rule about low stars leaves the pick-score order alone."""
    f.head["global_mean"] = np.float32(10.0)
    return f


def test_recommend_all_equals_per_user_recommend_with_exclusions():
    f = _every_movie_liked(random_factors(n_users=90, n_movies=517, dim=5, seed=3))
    exclude = sp.random(90, 517, density=0.1, format="lil", random_state=2)
    exclude[7] = 0  # one user has rated nothing
    exclude = exclude.tocsr()
    exclude.eliminate_zeros()
    everyone = recommend_all(f, n=25, exclude=exclude, chunk_size=16)
    assert everyone.dtype == np.int32 and everyone.shape == (90, 25)
    for u in range(90):
        idx, _ = recommend(f, user_index=u, n=25, exclude=exclude[u].indices)
        assert everyone[u].tolist() == idx.tolist()
        assert not set(everyone[u].tolist()) & set(exclude[u].indices.tolist())


def test_recommend_all_pads_with_minus_one_and_takes_a_user_slice():
    f = random_factors(n_users=4, n_movies=30)
    dense = np.ones((4, 30), dtype=bool)
    dense[2, :5] = False
    exclude = sp.csr_matrix(dense)
    top = recommend_all(f, n=10, exclude=exclude, users=np.array([2, 3]))
    assert sorted(top[0, :5].tolist()) == [0, 1, 2, 3, 4] and (top[0, 5:] == -1).all()
    assert (top[1] == -1).all()


def test_fold_in_of_a_users_training_ratings_recovers_picks_close_to_the_trained_users(trained_default, taste_ratings):
    f: Factors = trained_default.factors
    overlaps, stars = [], []
    for raw_user in f.user_ids[:30]:
        mine = taste_ratings[taste_ratings.userId == raw_user]
        movies = f.movies.index(mine.movieId.to_numpy())
        trained, _ = recommend(f, user_index=f.user_index(raw_user), n=10, exclude=movies)
        folded_user = fold_in(f, movies, mine.rating.to_numpy())
        folded, _ = recommend(f, user_vector=folded_user, n=10, exclude=movies)
        overlaps.append(len(set(trained) & set(folded)) / 10)
        stars.append(np.abs(f.predict_ratings(folded_user, movies) - mine.rating.to_numpy()).mean())
    assert np.mean(overlaps) >= 0.6, overlaps
    assert np.mean(stars) < 1.0


def test_fold_in_gives_a_new_user_the_picks_of_their_taste(trained_default):
    f: Factors = trained_default.factors
    first_half = f.movies.index(np.arange(1000, 1010))  # the odd users' half is 1000..1029
    me = fold_in(f, first_half, np.full(10, 5.0))
    picks, _ = recommend(f, user_vector=me, n=10, exclude=first_half)
    assert (f.movie_ids[picks] < 1030).mean() >= 0.8


def _integer_factors(n_users: int, n_movies: int, seed: int) -> Factors:
    """Small-integer factors: every score is exact in float32, and many of them tie."""
    f = random_factors(n_users=n_users, n_movies=n_movies, dim=3, seed=seed)
    rng = np.random.default_rng(seed)
    f.user_vectors = rng.integers(-2, 3, (n_users, 3)).astype(np.float32)
    f.movie_vectors = rng.integers(-2, 3, (n_movies, 3)).astype(np.float32)
    f.movie_bias = rng.integers(-3, 4, n_movies).astype(np.float32)
    return f


def _brute_force(f: Factors, n: int, exclude: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """Every score, sorted best first with ties by lower movie index; -1 pads."""
    out = np.full((len(users), min(n, f.n_movies)), -1, dtype=np.int32)
    for i, u in enumerate(users):
        s = f.movie_vectors.astype(np.float64) @ f.user_vectors[u] + f.movie_bias
        s[exclude[u].indices] = -np.inf
        order = np.lexsort((np.arange(f.n_movies), -s))[: out.shape[1]]
        order = order[np.isfinite(s[order])]
        out[i, : len(order)] = order
    return out


def _heavy_exclusions(n_users: int, n_movies: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_movies)) < 0.2
    dense[0] = True  # rated everything
    dense[1, :-3] = True  # three movies left, at the end of the catalogue
    dense[2, : n_movies // 2] = True  # the likely winners all rated
    dense[3] = False  # rated nothing
    return sp.csr_matrix(dense)


@pytest.mark.parametrize(("first", "tile"), [(4, 3), (10, 7), (64, 64), (2048, 2000)])
@pytest.mark.parametrize("n", [1, 5, 12, 60])
def test_the_ranker_equals_a_brute_force_sort_with_ties_exclusions_and_short_lists(first, tile, n):
    f = _integer_factors(n_users=40, n_movies=57, seed=n + first)
    exclude = _heavy_exclusions(40, 57, seed=first)
    ranker = _Ranker(f, n, first=first, tile=tile)
    u = np.hstack([f.user_vectors, np.ones((40, 1), np.float32)])
    rows = np.repeat(np.arange(40), np.diff(exclude.indptr))
    got = ranker.chunk(u, rows, exclude.indices)
    assert got.tolist() == _brute_force(f, n, exclude, np.arange(40)).tolist()


def test_recommend_all_breaks_ties_at_the_last_place_by_lower_movie_index():
    f = random_factors(n_users=5, n_movies=3000, dim=4)
    f.movie_vectors[:] = 0.0
    f.movie_bias[:] = 1.0
    f.movie_bias[2500:] = 2.0  # 500 better movies, then ties for the last places
    top = recommend_all(f, n=510, exclude=sp.csr_matrix((5, 3000), dtype=bool), chunk_size=2)
    assert (top == np.concatenate([np.arange(2500, 3000), np.arange(10)])).all()


@pytest.mark.parametrize("threads", [1, 2])
def test_recommend_all_equals_a_brute_force_sort_across_chunk_boundaries_and_user_slices(threads):
    f = _integer_factors(n_users=70, n_movies=45, seed=5)
    exclude = _heavy_exclusions(70, 45, seed=6)
    users = np.array([69, 0, 1, 2, 3, 10, 10, 35, 4, 68, 5])
    top = recommend_all(f, n=20, exclude=exclude, users=users, chunk_size=3, threads=threads)
    assert top.tolist() == _brute_force(f, 20, exclude, users).tolist()


def test_recommend_all_returns_every_movie_left_when_n_exceeds_the_catalogue():
    f = _integer_factors(n_users=6, n_movies=9, seed=1)
    exclude = _heavy_exclusions(6, 9, seed=2)
    top = recommend_all(f, n=50, exclude=exclude)
    assert top.shape == (6, 9)
    assert top.tolist() == _brute_force(f, 50, exclude, np.arange(6)).tolist()
    assert (top[0] == -1).all() and sorted(top[1, :3].tolist()) == [6, 7, 8]


def test_recommend_all_without_exclusions_and_with_n_zero():
    f = _integer_factors(n_users=8, n_movies=30, seed=3)
    none = sp.csr_matrix((8, 30), dtype=bool)
    assert recommend_all(f, n=7).tolist() == _brute_force(f, 7, none, np.arange(8)).tolist()
    assert recommend_all(f, n=0).shape == (8, 0)
    assert recommend_all(f, n=5, users=np.array([], dtype=np.int64)).shape == (0, 5)


def test_recommend_all_orders_negative_zero_and_positive_scores_like_recommend():
    f = random_factors(n_users=3, n_movies=8, dim=2)
    f.movie_vectors[:] = 0.0
    f.movie_bias[:] = np.array([-1.5, 0.0, -0.0, 2.0, -np.inf, 0.0, -1.5, 3.25], np.float32)
    top = recommend_all(f, n=8)
    idx, _ = recommend(f, user_index=0, n=8)
    assert top[0].tolist() == [7, 3, 1, 2, 5, 0, 6, -1] == [*idx.tolist(), -1]


def test_recommend_all_gives_blas_its_threads_back():
    before = [p["num_threads"] for p in threadpool_info()]
    recommend_all(random_factors(n_users=20, n_movies=30), n=5, chunk_size=4)
    assert [p["num_threads"] for p in threadpool_info()] == before


def test_the_ranker_skips_tiles_no_score_can_reach_and_still_equals_a_brute_force_sort(monkeypatch):
    # Norms and biases fall along the catalogue, as trained factors' do with popularity.
    f = _integer_factors(n_users=30, n_movies=120, seed=8)
    f.movie_vectors[40:] = np.sign(f.movie_vectors[40:]) * 0.25
    f.movie_vectors[80:] = 0.0
    f.movie_bias[:40] += 6.0
    f.movie_bias[40:] -= 5.0
    # Users 0-2 rated (almost) every movie of the first tile: no threshold, every tile is theirs.
    exclude = _heavy_exclusions(30, 120, seed=9)
    multiplied = []
    matmul = np.matmul
    monkeypatch.setattr(np, "matmul", lambda a, b, **kw: multiplied.append(a.shape[0]) or matmul(a, b, **kw))
    ranker = _Ranker(f, 8, first=10, tile=6)
    u = np.hstack([f.user_vectors, np.ones((30, 1), np.float32)])
    got = ranker.chunk(u, np.repeat(np.arange(30), np.diff(exclude.indptr)), exclude.indices)
    monkeypatch.undo()
    assert got.tolist() == _brute_force(f, 8, exclude, np.arange(30)).tolist()
    # 20 tiles of 30 users if nothing were skipped; users 0-2 alone in some.
    assert sum(multiplied) < 20 * 30 * 0.6
    assert set(multiplied) - {30}


def test_recommend_breaks_ties_at_the_last_place_by_lower_movie_index():
    f = _every_movie_liked(random_factors(n_users=2, n_movies=3000, dim=4))
    f.movie_vectors[:] = 0.0
    f.head["movie_rating_vectors"][:] = 0.0
    f.head["movie_bias"][:] = 0.0
    f.movie_bias[:] = 1.0
    f.movie_bias[2500:] = 2.0
    idx, _ = recommend(f, user_index=0, n=510, exclude=[2600, 3])
    assert idx.tolist() == [*range(2500, 2600), *range(2601, 3000), 0, 1, 2, *range(4, 12)]
