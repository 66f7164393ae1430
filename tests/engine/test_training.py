"""Training: the presets learn, the tutorial stays faithful, cancellation, rating heads and passes."""

import math

import numpy as np
import pandas as pd
import pytest

from recommender.engine.presets import PRESETS, resolve_config
from recommender.engine.training import TrainingCancelled, train


def test_the_default_preset_learns_the_two_tastes(trained_default):
    history = trained_default.history
    ranking = [h for h in history if h["phase"] == "ranking"]
    assert all(math.isfinite(h["loss"]) for h in history)
    assert ranking[-1]["loss"] < ranking[0]["loss"]
    assert set(history[0]) >= {"epoch", "loss", "val_rmse", "val_ndcg", "seconds"}
    f = trained_default.factors
    # Predicted stars separate the user's own half of the movies from the other half.
    user = f.user_index(1)  # raw user 1 = index 0, group 0: movies 1000..1029
    own = f.predict_ratings(user, f.movies.index(np.arange(1000, 1030))).mean()
    other = f.predict_ratings(user, f.movies.index(np.arange(1030, 1060))).mean()
    assert own > other + 1.0
    assert trained_default.metrics["val_ndcg"] > 0.2
    assert trained_default.params["preset"] == "default" and trained_default.params["embedding_dim"] == 8


def test_the_tutorial_preset_loss_falls_on_a_learnable_pattern(taste_ratings):
    epochs = []
    result = train(taste_ratings, "tutorial", overrides={"epochs": 4, "batch_size": 128, "embedding_dim": 4},
                   on_epoch=epochs.append)  # fmt: skip
    assert [h["epoch"] for h in epochs] == [1, 2, 3, 4]
    losses = [h["loss"] for h in epochs]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
    assert result.factors.head["kind"] == "sigmoid" and result.factors.dim == 4
    low, high = result.factors.rating_range
    stars = result.factors.predict_ratings(0, np.arange(result.factors.n_movies))
    assert (stars >= low).all() and (stars <= high).all()


def test_the_tutorial_preset_is_faithful():
    t = PRESETS["tutorial"]
    assert (t.embedding_dim, t.learning_rate, t.batch_size, t.epochs) == (50, 0.005, 2048, 3)


def test_the_auto_rule_keeps_small_data_on_the_default_and_scales_the_batch_with_the_data():
    from recommender.engine.presets import LR_POWER, MAX_STEPS, preset_for, resolve_config

    assert preset_for(100_836) == ("default", {})  # ml-latest-small: today's default, unchanged
    assert PRESETS["large"].batch_size % PRESETS["large"].group_size == 0
    for n in (2_016_720, 25_000_095):
        name, overrides = preset_for(n)
        config = resolve_config(name, overrides)
        assert config.batch_size % config.group_size == 0
        assert MAX_STEPS / 2 < n * 0.9 / config.batch_size <= MAX_STEPS
        scale = config.batch_size / PRESETS["default"].batch_size
        assert config.learning_rate == pytest.approx(PRESETS["default"].learning_rate * scale**LR_POWER)
    assert preset_for(2_016_720)[1]["batch_size"] == 16_384 and preset_for(25_000_095)[1]["batch_size"] == 262_144


def test_should_stop_cancels_and_unknown_overrides_are_refused(tiny_ratings):
    with pytest.raises(TrainingCancelled):
        train(tiny_ratings, "default", overrides={"embedding_dim": 4}, should_stop=lambda: True)
    with pytest.raises(ValueError, match="no parameter"):
        resolve_config("default", {"embeddings": 3})
    with pytest.raises(ValueError, match="unknown preset"):
        resolve_config("fancy")
    calls = []

    def stop_after_two() -> bool:
        return len(calls) >= 2

    result = train(tiny_ratings, "default", overrides={"embedding_dim": 4, "rating_dim": 2}, on_epoch=calls.append,
                   should_stop=stop_after_two)  # fmt: skip
    assert len(result.history) == 2


def test_cancellation_is_heard_within_an_epoch(taste_ratings, monkeypatch):
    from recommender.engine import epochs

    monkeypatch.setattr(epochs, "SEGMENT_RATINGS", 256)  # one batch per segment
    polls = []

    def stop_on_second_poll() -> bool:
        polls.append(1)
        return len(polls) >= 2  # the first poll is before epoch 1, the second after its first segment

    result = train(taste_ratings, "default", overrides={"embedding_dim": 4, "rating_dim": 2, "batch_size": 256,
                   "group_size": 256}, should_stop=stop_on_second_poll)  # fmt: skip
    assert len(result.history) == 1 and result.history[0]["partial"]
    assert result.history[0]["phase"] == "ranking"  # and no rating pass was started


def test_the_rating_heads_average_into_one_head_of_the_same_form():
    from recommender.engine.dataset import encode
    from recommender.engine.heads import combine_heads, export_joint

    config = resolve_config("default", {"embedding_dim": 4, "rating_dim": 2})
    fit = encode(pd.DataFrame({"userId": [1, 2, 3], "movieId": [7, 8, 9], "rating": [1.0, 3.0, 5.0]}))
    rng = np.random.default_rng(0)
    shared_u, shared_m = rng.normal(size=(4, 7)), rng.normal(size=(4, 8))
    snaps = []
    for _ in range(3):  # heads differ in their own columns only; the shared ones are frozen
        ut, mt = rng.normal(size=(4, 7)).astype(np.float32), rng.normal(size=(4, 8)).astype(np.float32)
        ut[:, :4], mt[:, :4], mt[:, -1] = shared_u[:, :4], shared_m[:, :4], shared_m[:, -1]
        snaps.append({"ut": ut, "mt": mt, "w": rng.normal(size=4).astype(np.float32), "mu": np.float32(rng.normal())})
    one = combine_heads(snaps, config, fit, -100.0, 100.0)  # a wide range: nothing is clipped
    assert one.head["user_rating_vectors"].shape == (3, 6)
    users, movies = np.array([0, 0, 1, 2]), np.array([0, 2, 1, 2])
    mean = np.mean([export_joint(s, config, fit, -100.0, 100.0).predict_pairs(
        s["ut"][users, :4], s["ut"][users, 6], s["ut"][users, 4:6], movies) for s in snaps], axis=0)  # fmt: skip
    rating_vectors = one.head["user_rating_vectors"][users]
    got = one.predict_pairs(one.user_vectors[users], one.user_bias[users], rating_vectors, movies)
    np.testing.assert_allclose(got, mean, rtol=1e-5, atol=1e-5)


def test_the_default_preset_refits_its_rating_heads_on_the_validation_ratings_too(trained_default):
    m = trained_default.metrics
    assert len(m["rating_epochs"]) == 3 and all(e >= 1 for e in m["rating_epochs"]) and m["refit"]
    assert trained_default.factors.head["user_rating_vectors"].shape[1] == 3 * 4
    assert [h["phase"] for h in trained_default.history].count("rating") >= 3


def test_each_pass_trains_only_its_own_parameters(taste_ratings):
    """Ranking moves the shared rows and leaves the head; rating moves the head and leaves the shared rows."""
    from recommender.engine.dataset import encode
    from recommender.engine.heads import fresh_head
    from recommender.engine.model import JointModel
    from recommender.engine.sparse_trainer import RowSparseTrainer

    data = encode(taste_ratings)
    config = resolve_config("default", {"embedding_dim": 8, "rating_dim": 4, "batch_size": 256, "group_size": 32})
    model = JointModel(data.n_users, data.n_movies, 8, 4, config.init_scale, float(data.rating.mean()), 0)
    trainer = RowSparseTrainer(model, config, data)
    order, n_batches = trainer.epoch_order(np.random.default_rng(0), len(data))
    d, k = 8, 4
    start = trainer.snapshot()
    trainer.run(False, order, n_batches, trainer.phase(False))
    ranked = trainer.snapshot()
    # Packed rows: users [u | p | b_u], movies [v | q | b_m | c_m].
    assert not np.allclose(ranked["ut"][:, :d], start["ut"][:, :d])
    assert not np.allclose(ranked["mt"][:, d + k + 1], start["mt"][:, d + k + 1])
    np.testing.assert_array_equal(ranked["ut"][:, d : d + k], start["ut"][:, d : d + k])
    np.testing.assert_array_equal(ranked["mt"][:, d : d + k], start["mt"][:, d : d + k])

    fresh = fresh_head(ranked, config, data, seed=1)
    trainer.restore(fresh)
    trainer.run(True, order, n_batches, trainer.phase(True))
    rated = trainer.snapshot()
    frozen = (slice(None), np.r_[np.arange(d), d + k + 1])
    np.testing.assert_array_equal(rated["ut"][:, :d], fresh["ut"][:, :d])
    np.testing.assert_array_equal(rated["mt"][frozen], fresh["mt"][frozen])
    for table in ("ut", "mt"):
        assert not np.allclose(rated[table][:, d : d + k], fresh[table][:, d : d + k])  # head vectors
        assert not np.allclose(rated[table][: data.n_users if table == "ut" else data.n_movies, d + k], 0.0)  # b_u, b_m
    # A snapshot restored gives itself back, whichever pass ran last.
    trainer.restore(rated)
    again = trainer.snapshot()
    for key in rated:
        np.testing.assert_array_equal(again[key], rated[key])


@pytest.mark.parametrize("ranking_epochs", [0, 1])
def test_the_refit_trains_the_shared_vectors_on_validation_ratings_only_when_asked(taste_ratings, ranking_epochs):
    from recommender.engine.dataset import encode
    from recommender.engine.heads import refit_heads
    from recommender.engine.model import JointModel
    from recommender.engine.sparse_trainer import RowSparseTrainer

    data = encode(taste_ratings)
    config = resolve_config(
        "default",
        {
            "embedding_dim": 8,
            "rating_dim": 4,
            "batch_size": 256,
            "group_size": 32,
            "refit_ranking_epochs": ranking_epochs,
        },
    )
    # Validation: every rating of the movie rated last, which the fit rows then never name.
    val_movie = data.movie[-1]
    fit, val = (
        data.subset(np.flatnonzero(data.movie != val_movie)),
        data.subset(np.flatnonzero(data.movie == val_movie)),
    )
    model = JointModel(data.n_users, data.n_movies, 8, 4, config.init_scale, float(data.rating.mean()), 0)
    trainer = RowSparseTrainer(model, config, fit, val)
    start = trainer.snapshot()
    (snap,) = refit_heads(trainer, start, [1], config, fit, val, seed=0, should_stop=None)
    moved = not np.allclose(snap["mt"][val_movie, :8], start["mt"][val_movie, :8])
    assert moved == bool(ranking_epochs)
