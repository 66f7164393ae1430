"""Protocols R, T and P: presets scored beside the baselines, on tiny data and on MovieLens."""

import numpy as np
import pytest

from recommender.engine.evaluation import evaluate, format_people, format_table
from tests.engine.conftest import two_tastes


@pytest.mark.slow
def test_default_preset_beats_most_popular_and_the_tutorial_on_real_data(ml_latest_small):
    import pandas as pd

    ratings = pd.read_csv(ml_latest_small / "ratings.csv", usecols=["userId", "movieId", "rating"])
    rows = {r["name"]: r for r in evaluate(ratings, ["tutorial", "default"], ease=False)}
    print(format_table(list(rows.values())))
    assert rows["default"]["ndcg"] >= 1.5 * rows["most popular"]["ndcg"]
    assert rows["default"]["rmse"] < rows["tutorial"]["rmse"]


def test_evaluate_returns_one_row_per_model_with_both_protocols():
    ratings = two_tastes(n_users=60, n_movies=40, per_user=12)
    rows = evaluate(ratings, [], ease=True)
    names = [r["name"] for r in rows]
    assert names == ["global mean", "user+item biases", "most popular", "EASE"]
    by = {r["name"]: r for r in rows}
    assert np.isfinite(by["user+item biases"]["rmse"]) and np.isnan(by["most popular"]["rmse"])
    # On two clean tastes, EASE ranks far better than popularity.
    assert by["EASE"]["ndcg"] > by["most popular"]["ndcg"]
    assert "EASE" in format_table(rows)


def test_protocol_p_holds_people_out_of_training_and_knows_them_by_their_first_ratings():
    from recommender.engine.dataset import encode
    from recommender.engine.evaluation import ease_ranker, popular_ranker, protocol_people, split_people

    ratings = two_tastes(n_users=60, n_movies=40, per_user=20)
    rng = np.random.default_rng(5)
    timestamp = rng.permutation(len(ratings))
    data = encode(ratings)
    split = split_people(data, timestamp, share=0.2, min_ratings=15, seed=1)
    assert len(split.users) == 12
    assert not np.isin(data.user[split.train_rows], split.users).any()
    first = split.history[0]
    assert (np.diff(timestamp[first]) > 0).all() and (data.user[first] == split.users[0]).all()

    train = data.subset(split.train_rows)
    seen = {}

    def spy(movies, stars):
        seen.setdefault(len(movies), []).append(movies)
        return popular_ranker(train)(movies, stars)

    rows = protocol_people(data, split, {"most popular": spy, "EASE": ease_ranker(train)}, ks=(5,))
    assert set(seen) == {5}
    by = {r["name"]: r for r in rows}
    # Two tastes: EASE finds each person's half, popularity gives everyone one list.
    assert by["EASE"]["liked_ndcg"] > by["most popular"]["liked_ndcg"]
    assert by["EASE"]["personal"] > by["most popular"]["personal"]
    assert np.isnan(by["EASE"]["low_stars"])
    assert "liked nDCG" in format_people(rows)


def test_a_trained_model_is_scored_under_protocol_p_with_its_stars(trained_default):
    from recommender.engine.dataset import encode
    from recommender.engine.evaluation import factors_ranker, popular_ranker, protocol_people, split_people

    ratings = two_tastes()  # the data trained_default learned (its held-out users were trained on too)
    data = encode(ratings)
    split = split_people(data, np.arange(len(ratings)), share=0.1, min_ratings=15, seed=3)
    train = data.subset(split.train_rows)
    rankers = {"default": factors_ranker(trained_default.factors, data), "most popular": popular_ranker(train)}
    by = {r["name"]: r for r in protocol_people(data, split, rankers, ks=(10,))}
    assert by["default"]["low_stars"] == 0.0
    assert by["default"]["liked_ndcg"] > 2 * by["most popular"]["liked_ndcg"]
    assert by["default"]["personal"] > by["most popular"]["personal"]
