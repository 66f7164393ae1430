"""The keras-io tutorial preset: plain ``model.fit`` on the stars, kept as a yardstick."""

from __future__ import annotations

import time

import numpy as np

from recommender.engine.dataset import Ratings
from recommender.engine.epochs import TrainingCancelled, TrainingRun
from recommender.engine.factors import Factors
from recommender.engine.model import TutorialConfig, TutorialModel
from recommender.engine.validation import Validator, low_high


def train_tutorial(config: TutorialConfig, run: TrainingRun) -> tuple[Factors, list[dict], dict]:
    import keras  # here, not at the top: only a training process imports Keras

    fit = run.fit
    low, high = low_high(fit)
    model = TutorialModel(fit.n_users, fit.n_movies, config.embedding_dim, config.l2)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    x = np.stack([fit.user, fit.movie], axis=1).astype(np.int32)
    y = ((fit.rating - low) / (high - low)).astype(np.float32)  # targets scaled into the sigmoid's range
    validate = Validator(fit, run.val, 2000, run.seed)
    history: list[dict] = []

    class _Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if batch % 20 == 0 and run.stopped():
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self.t0
            rmse, ndcg = validate(export_tutorial(model, fit, low, high))
            row = {
                "epoch": epoch + 1,
                "phase": "rating",
                "loss": float((logs or {}).get("loss", float("nan"))),
                "val_rmse": rmse,
                "val_ndcg": ndcg,
                "seconds": seconds,
                "ratings_per_s": len(fit) / max(seconds, 1e-9),
            }
            history.append(row)
            if run.on_epoch:
                run.on_epoch(row)
            if run.stopped():
                self.model.stop_training = True

    model.fit(
        x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0, callbacks=[_Progress()]
    )
    if not history:
        raise TrainingCancelled("training was cancelled before the first epoch finished")
    factors = export_tutorial(model, fit, low, high)
    return factors, history, {"ratings_per_s": float(np.median([h["ratings_per_s"] for h in history]))}


def export_tutorial(model: TutorialModel, fit: Ratings, low: float, high: float) -> Factors:
    kernel, bias = model.out.get_weights()
    movie_bias = model.movie_bias.get_weights()[0][:, 0]
    return Factors(
        user_ids=fit.users.raw,
        movie_ids=fit.movies.raw,
        user_vectors=model.user_embedding.get_weights()[0].astype(np.float32),
        movie_vectors=model.movie_embedding.get_weights()[0].astype(np.float32),
        user_bias=model.user_bias.get_weights()[0][:, 0].astype(np.float32),
        # The stars rise with u.v + b_m (the user bias is constant per user), so this ranks as the stars do.
        movie_bias=movie_bias.astype(np.float32),
        head={
            "kind": "sigmoid",
            "movie_bias": movie_bias.astype(np.float32),
            "kernel": np.float32(kernel.ravel()[0]),
            "bias": np.float32(bias.ravel()[0]),
            "low": np.float32(low),
            "high": np.float32(high),
        },
    )
