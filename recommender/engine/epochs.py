"""Epochs of one training pass: early stopping on validation, progress reports and cancellation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender.engine.dataset import Ratings
from recommender.engine.model import JointConfig

if TYPE_CHECKING:
    from recommender.engine.sparse_trainer import RowSparseTrainer

EpochCallback = Callable[[dict], None]
# An epoch runs in segments of about this many ratings, so that cancellation is heard within seconds.
SEGMENT_RATINGS = 4_000_000


@dataclass(frozen=True)
class TrainingRun:
    """What every preset's trainer gets beside its config: the split, the seed and the caller's hooks.

    Attributes:
        fit: the ratings trained on.
        val: the held-out ratings for per-epoch metrics and early stopping (may be empty).
        seed: seeds the initial weights, the batch order and the validation sample.
        on_epoch: called after every epoch with its history row.
        should_stop: polled during training; True ends it, keeping the best epoch so far.
    """

    fit: Ratings
    val: Ratings
    seed: int
    on_epoch: EpochCallback | None = None
    should_stop: Callable[[], bool] | None = None

    def stopped(self) -> bool:
        return self.should_stop is not None and self.should_stop()


class TrainingCancelled(Exception):
    """should_stop returned True before the first epoch finished: there is nothing to keep."""


def run_pass(
    trainer: RowSparseTrainer,
    rating_pass: bool,
    epochs: int,
    config: JointConfig,
    fit: Ratings,
    rng: np.random.Generator,
    history: list[dict],
    on_epoch: EpochCallback | None,
    should_stop: Callable[[], bool] | None,
    measure: Callable[[dict[str, np.ndarray]], tuple[float, float]],
    head: int | None = None,
) -> tuple[float, dict[str, np.ndarray], dict] | None:
    """Epochs of one pass with early stopping; returns (score, weights, history row) of the best epoch.

    The ranking pass keeps the best validation nDCG, the rating pass the best (lowest) RMSE; a pass
    ends after `patience` epochs without a gain of config.min_gain (relative) over the best.
    Each history row names its pass, and a rating pass its head (from 1), so progress can say
    "rating head 2 of 3, epoch 4 of at most 30" rather than a count that runs past the maximum.
    """
    phase = trainer.phase(rating_pass)
    name = "rating" if rating_pass else "ranking"
    best = None
    waited = 0
    for _ in range(epochs):
        if should_stop is not None and should_stop():
            break
        order, n_batches = trainer.epoch_order(rng, len(fit))
        t0 = time.perf_counter()
        # The epoch runs in segments of about SEGMENT_RATINGS so that cancellation is heard within seconds.
        per_segment = max(1, SEGMENT_RATINGS // trainer.batch)
        total, done, stopped = 0.0, 0, False
        for first_batch in range(0, n_batches, per_segment):
            count = min(per_segment, n_batches - first_batch)
            rows = order[first_batch * trainer.batch : (first_batch + count) * trainer.batch]
            total += trainer.run(rating_pass, rows, count, phase) * count
            done += count
            if should_stop is not None and done < n_batches and should_stop():
                stopped = True
                break
        loss = total / done
        seconds = time.perf_counter() - t0
        snap = trainer.snapshot()
        rmse, ndcg = measure(snap)
        row = {
            "epoch": len(history) + 1,
            "phase": name,
            **({"head": head} if head is not None else {}),
            "loss": loss,
            "val_rmse": rmse,
            "val_ndcg": ndcg,
            "seconds": seconds,
            "ratings_per_s": min(len(fit), done * trainer.batch) / max(seconds, 1e-9),
        }
        if stopped:
            row["partial"] = True
        history.append(row)
        if on_epoch:
            on_epoch(row)
        if not math.isfinite(loss):
            break
        if rating_pass:  # noqa: SIM108 (one line per pass reads clearer)
            score = -rmse
        else:
            score = ndcg if math.isfinite(ndcg) else -loss
        # A flat curve ends the pass: only a gain of min_gain (relative) over the best resets the
        # patience, though a better epoch by less is still the one kept.
        if best is None or score > best[0] + config.min_gain * abs(best[0]):
            best, waited = (score, snap, row), 0
        else:
            if score > best[0]:
                best = (score, snap, row)
            waited += 1
            if waited >= (config.rating_patience if rating_pass else config.patience):
                break
        if stopped:
            break
    return best
