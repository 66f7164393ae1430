import numpy as np
import pytest

from recommender.engine.evaluation import evaluate, format_table
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
