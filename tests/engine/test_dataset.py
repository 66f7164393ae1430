"""The ratings table's encoding: id round trips, refused tables and unknown ids, seeded splits."""

import numpy as np
import pandas as pd
import pytest

from recommender.engine.dataset import encode, split_by_rating, split_per_user
from recommender.engine.ids import IdIndex, UnknownIdError


def test_ids_survive_the_round_trip(tiny_ratings):
    data = encode(tiny_ratings)
    assert data.n_users == 6 and data.n_movies == 8
    assert (data.users.raw_ids(data.user) == tiny_ratings["userId"].to_numpy()).all()
    assert (data.movies.raw_ids(data.movie) == tiny_ratings["movieId"].to_numpy()).all()
    assert (data.movies.index(data.movies.raw) == np.arange(8)).all()


def test_it_refuses_or_flags_unknown_ids_never_a_wrong_index():
    index = IdIndex.from_values(np.array([5, 9, 2, 9]))
    with pytest.raises(UnknownIdError, match="unknown id 7"):
        index.index([2, 7])
    assert index.index([2, 7, 100, 9], unknown="missing").tolist() == [0, -1, -1, 2]
    assert index.get(7) is None and index.get(9) == 2
    with pytest.raises(IndexError):
        index.raw_ids([3])


def test_it_refuses_a_table_with_a_bad_rating():
    bad = pd.DataFrame({"userId": [1, 2], "movieId": [1, 1], "rating": [4.0, float("nan")]})
    with pytest.raises(ValueError, match="row 1"):
        encode(bad)
    with pytest.raises(ValueError, match="rating"):
        encode(pd.DataFrame({"userId": [1], "movieId": [1]}))


def test_per_user_split_holds_out_a_rounded_quarter_of_each_user_and_is_seeded():
    user = np.repeat(np.arange(5), [1, 2, 4, 6, 10])
    train, held = split_per_user(user, test=0.25, seed=3)
    assert np.bincount(user[held], minlength=5).tolist() == [0, 1, 1, 2, 3]  # 0.5->1, 1.5->2, 2.5->3 (half up)
    assert len(np.intersect1d(train, held)) == 0 and len(train) + len(held) == len(user)
    again = split_per_user(user, test=0.25, seed=3)
    assert (again[1] == held).all()
    assert not (split_per_user(user, test=0.25, seed=4)[1] == held).all()


def test_rating_split_is_stratified_80_20():
    rating = np.repeat(np.array([1.0, 3.0, 5.0]), [100, 200, 300])
    _, held = split_by_rating(rating, test=0.2, seed=42)
    assert len(held) == 120
    _, counts = np.unique(rating[held], return_counts=True)
    assert counts.tolist() == [20, 40, 60]
    assert (split_by_rating(rating, seed=42)[1] == held).all()
