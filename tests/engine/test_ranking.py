import numpy as np
import scipy.sparse as sp

from recommender.engine.factors import Factors
from recommender.engine.ranking import fold_in, recommend, recommend_all
from tests.engine.conftest import random_factors


def test_top_n_matches_a_numpy_brute_force_sort(factors):
    scores = factors.movie_vectors @ factors.user_vectors[4] + factors.movie_bias
    idx, got = recommend(factors, user_index=4, n=15)
    assert idx.tolist() == np.argsort(-scores, kind="stable")[:15].tolist()
    np.testing.assert_allclose(got, np.sort(scores)[::-1][:15], rtol=1e-6)


def test_it_excludes_movies_already_rated(factors):
    full, _ = recommend(factors, user_index=1, n=10)
    idx, _ = recommend(factors, user_index=1, n=10, exclude=full[:5])
    assert not set(idx) & set(full[:5])
    assert idx[:5].tolist() == full[5:].tolist()


def test_it_returns_a_short_list_when_almost_everything_is_rated():
    f = random_factors(n_users=3, n_movies=12)
    idx, _ = recommend(f, user_index=0, n=10, exclude=np.arange(9))
    assert sorted(idx.tolist()) == [9, 10, 11]


def test_recommend_all_equals_per_user_recommend_with_exclusions():
    f = random_factors(n_users=90, n_movies=517, dim=5, seed=3)
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
