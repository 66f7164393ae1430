"""Training: a ratings table -> trained Factors, with per-epoch progress and cancellation.

The recipe of the joint ("default") presets:
    1. Split each user's ratings into fit and validation (seeded).
    2. The ranking pass: shared embeddings and ranking bias by the row-sparse step
       (sparse_trainer), the star-weighted in-batch softmax (losses) beside a light rating loss,
       until validation nDCG@10 stops improving (epochs).
    3. The rating heads on the frozen shared embeddings, their stars' calibration on validation
       (calibration), then their refit on fit + validation (heads).
    4. Export as Factors, and the calibration fold-in and the picks need (_calibrate_fold_in).
The "tutorial" preset is the keras-io model with plain ``model.fit`` (tutorial).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import keras
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from recommender.engine.calibration import TERMS, apply_calibration, fit_calibration
from recommender.engine.dataset import Ratings, encode, split_per_user
from recommender.engine.epochs import EpochCallback, TrainingCancelled, TrainingRun, run_pass
from recommender.engine.factors import Factors
from recommender.engine.foldin import BAND_LIMITS, fit_fold_maps, fit_fold_offsets, fit_prior_weights
from recommender.engine.heads import combine_heads, export_joint, rating_heads, refit_heads
from recommender.engine.model import JointConfig, JointModel, TutorialConfig, config_dict
from recommender.engine.presets import resolve_config
from recommender.engine.sparse_trainer import RowSparseTrainer, star_weights
from recommender.engine.tutorial import train_tutorial
from recommender.engine.validation import Validator, low_high

__all__ = ["TrainResult", "TrainingCancelled", "train"]


@dataclass
class TrainResult:
    """What one training run produced.

    Attributes:
        factors: the exported factors (metadata filled in).
        history: one dict per epoch: epoch, loss, val_rmse, val_ndcg, seconds.
        metrics: validation metrics of the kept epoch, plus ratings/s and timings.
        params: the effective config (preset and overrides) and the seed.
    """

    factors: Factors
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def train(
    ratings: pd.DataFrame,
    preset: str = "default",
    *,
    overrides: dict | None = None,
    seed: int = 42,
    validation: float = 0.1,
    validation_rows: np.ndarray | None = None,
    on_epoch: EpochCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a preset on a ratings table.

    Args:
        ratings: columns userId, movieId (raw ids) and rating (stars).
        preset: "tutorial" or "default" (see PRESETS).
        overrides: config fields to change, e.g. {"epochs": 5}.
        seed: seeds the split, the initial weights and the batch order.
        validation: share of each user's ratings held out for per-epoch metrics and
            early stopping (0 trains on everything; metrics are then NaN).
        validation_rows: positions in `ratings` to hold out instead (a split made by the caller,
            e.g. the same movies held out of every copy of a user).
        on_epoch: called after every epoch with {"epoch", "loss", "val_rmse", "val_ndcg", "seconds"}.
        should_stop: polled before every epoch, by the tutorial preset every 20 steps and by
            the default preset after every ~4M ratings of work (a few seconds); True ends
            training and keeps the best epoch so far (raises TrainingCancelled if none finished).

    Returns:
        TrainResult; result.factors carries params and metrics in its metadata.

    Raises:
        ValueError: bad table or unknown preset/override.
        TrainingCancelled: cancelled before any epoch finished.
    """
    config = resolve_config(preset, overrides)
    keras.utils.set_random_seed(seed)
    data = encode(ratings)
    if validation_rows is not None:
        val_rows = np.unique(np.asarray(validation_rows, dtype=np.int64))
        train_rows = np.setdiff1d(np.arange(len(data)), val_rows)
    elif validation > 0:
        train_rows, val_rows = split_per_user(data.user, test=validation, seed=seed + 1)
    else:
        train_rows, val_rows = np.arange(len(data)), np.zeros(0, dtype=np.int64)
    run = TrainingRun(data.subset(train_rows), data.subset(val_rows), seed, on_epoch, should_stop)
    started = time.perf_counter()
    if isinstance(config, TutorialConfig):
        factors, history, extra = train_tutorial(config, run)
    else:
        factors, history, extra = _train_joint(config, run)
    seconds = time.perf_counter() - started
    params = {"preset": preset, "seed": seed, "validation": validation, **config_dict(config)}
    best = extra.pop("best_epoch_row", history[-1] if history else {})
    result_metrics = {
        "val_rmse": best.get("val_rmse", float("nan")),
        "val_ndcg": best.get("val_ndcg", float("nan")),
        "best_epoch": best.get("epoch"),
        "epochs_run": len(history),
        "train_seconds": seconds,
        **extra,
    }
    # How many ratings each movie had: what "a movie people know" means to similar movies.
    factors.head["movie_counts"] = np.bincount(data.movie, minlength=data.n_movies).astype(np.int32)
    factors.metadata.update(
        {
            "preset": preset,
            "params": params,
            "metrics": result_metrics,
            "snapshot": {"ratings": len(data), "users": data.n_users, "movies": data.n_movies},
            "rating_range": [float(data.rating.min()), float(data.rating.max())],
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "history": history,
        }
    )
    return TrainResult(factors=factors, history=history, metrics=result_metrics, params=params)


def _train_joint(config: JointConfig, run: TrainingRun) -> tuple[Factors, list[dict], dict]:
    fit, val, seed = run.fit, run.val, run.seed
    low, high = low_high(fit)
    batch = min(config.batch_size, max(config.group_size, _round_up(len(fit), config.group_size)))
    group = min(config.group_size, batch)
    config = dataclasses.replace(config, batch_size=batch, group_size=group)
    model = JointModel(
        fit.n_users,
        fit.n_movies,
        config.embedding_dim,
        config.rating_dim,
        config.init_scale,
        float(fit.rating.mean()),
        seed,
    )
    trainer = RowSparseTrainer(model, config, fit, val if config.refit else None)
    validate = Validator(fit, val, config.val_users, seed)
    rng = np.random.default_rng(seed)
    history: list[dict] = []
    best_rank = run_pass(
        trainer,
        False,
        config.epochs,
        config,
        fit,
        rng,
        history,
        run.on_epoch,
        run.should_stop,
        lambda snap: validate(export_joint(snap, config, fit, low, high)),
    )
    if best_rank is None:
        raise TrainingCancelled("training was cancelled before the first epoch finished")
    best, extra = best_rank, {}
    heads = []
    if config.rating_epochs > 0 and len(val) and not run.stopped():
        heads = rating_heads(trainer, best_rank, config, fit, validate, seed, history, run.on_epoch, run.should_stop)
    if heads:
        best = min((h[1] for h in heads), key=lambda b: b[2]["val_rmse"])
        factors = combine_heads([h[1][1] for h in heads], config, fit, low, high)
        # Fitted before the refit sees validation; the refit heads take the same calibration.
        calibration = fit_calibration(factors, val)
        apply_calibration(factors, calibration, config.star_blend)
        extra["val_rmse"] = validate.rmse(factors)  # the heads' mean, calibrated (five terms fitted on these)
        extra["star_calibration"] = dict(zip(TERMS, np.round(calibration, 4).tolist(), strict=True))
        extra["rating_epochs"] = [h[0] for h in heads]
        if config.refit:
            snaps = refit_heads(trainer, best_rank[1], [h[0] for h in heads], config, fit, val, seed, run.should_stop)
            if snaps is not None:
                factors = combine_heads(snaps, config, fit, low, high)
                apply_calibration(factors, calibration, config.star_blend)
                extra["refit"] = True
    else:
        factors = export_joint(best[1], config, fit, low, high)
    if fit.n_users and fit.n_movies:
        _calibrate_fold_in(factors, config, fit, val, seed)
    ranking_rows = [h for h in history if h["phase"] == "ranking"]
    speeds = [h["ratings_per_s"] for h in ranking_rows[1:]] or [ranking_rows[0]["ratings_per_s"]]
    return (
        factors,
        history,
        {
            "best_epoch_row": best[2],
            "best_ranking_epoch": best_rank[2]["epoch"],
            "ratings_per_s": float(np.median(speeds)),
            **extra,
        },
    )


def _calibrate_fold_in(factors: Factors, config: JointConfig, fit: Ratings, val: Ratings, seed: int) -> None:
    """What fold-in and the picks need beside the tables, written into the head.

    Steps:
        1. The star weights the ranking loss used, and the weight of the predicted stars in the
           pick score.
        2. The fold-in maps, fitted on trained users' handfuls of ratings (foldin.fit_fold_maps),
           and how far the stars of people folded in from such handfuls fall short of their
           validation stars (foldin.fit_fold_offsets).
        3. The popularity prior's weight per number of ratings, chosen on validation
           (foldin.fit_prior_weights); 1 everywhere (and no offsets) without validation ratings.
    """
    with threadpool_limits(limits=1, user_api="blas"):  # thousands of tiny solves: threads only cost
        _calibrate(factors, config, fit, val, seed)


def _calibrate(factors: Factors, config: JointConfig, fit: Ratings, val: Ratings, seed: int) -> None:
    factors.head.update(star_weights(config).head_arrays())
    factors.head["star_blend"] = np.float32(config.star_blend)
    factors.head["fold_maps"] = fit_fold_maps(factors, fit.user, fit.movie, fit.rating, seed=seed)
    if not len(val):
        factors.head["prior_weights"] = np.ones(len(BAND_LIMITS) + 1, dtype=np.float32)
        return
    fit_rows, val_rows = (fit.user, fit.movie, fit.rating), (val.user, val.movie, val.rating)
    factors.head["fold_offsets"] = fit_fold_offsets(factors, fit_rows, val_rows, seed=seed)
    factors.head["prior_weights"] = fit_prior_weights(factors, fit_rows, val_rows, seed=seed)


def _round_up(n: int, multiple: int) -> int:
    return max(multiple, -(-n // multiple) * multiple)
