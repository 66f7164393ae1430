"""The rating heads: the stars' own pass on the frozen shared embeddings, several heads, the refit.

Also the export of the joint model's packed weights as Factors.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from recommender.engine.calibration import apply_calibration, fit_calibration
from recommender.engine.dataset import Ratings
from recommender.engine.epochs import EpochCallback, run_pass
from recommender.engine.factors import Factors
from recommender.engine.model import JointConfig
from recommender.engine.sparse_trainer import RowSparseTrainer
from recommender.engine.validation import Validator, low_high


def head_seed(seed: int, head: int) -> int:
    return seed + 101 * head


def rating_heads(
    trainer: RowSparseTrainer,
    best_rank: tuple[float, dict[str, np.ndarray], dict],
    config: JointConfig,
    fit: Ratings,
    validate: Validator,
    seed: int,
    history: list[dict],
    on_epoch: EpochCallback | None,
    should_stop: Callable[[], bool] | None,
) -> list[tuple[int, tuple[float, dict[str, np.ndarray], dict]]]:
    """The rating pass once per head.

    Shared embeddings and ranking bias stay frozen at the best ranking epoch; the head's
    own parameters, re-initialised from the head's seed, train on stars alone and stop on
    validation RMSE of the calibrated stars (calibration).

    Returns:
        (rating epochs up to the best one, (score, weights, history row) of the best) per finished head.
    """
    low, high = low_high(fit)
    ndcg = best_rank[2]["val_ndcg"]

    def rmse_only(snap: dict[str, np.ndarray]) -> tuple[float, float]:
        # The stars the artefact will show are calibrated: each epoch is judged calibrated too.
        factors = export_joint(snap, config, fit, low, high)
        apply_calibration(factors, fit_calibration(factors, validate.val), config.star_blend)
        return validate.rmse(factors), ndcg

    heads = []
    for head in range(config.rating_heads):
        if should_stop is not None and should_stop():
            break
        start = len(history)
        trainer.restore(fresh_head(best_rank[1], config, fit, head_seed(seed, head)))
        rng = np.random.default_rng(head_seed(seed, head))
        best = run_pass(
            trainer,
            True,
            config.rating_epochs,
            config,
            fit,
            rng,
            history,
            on_epoch,
            should_stop,
            rmse_only,
            head=head + 1,
        )
        if best is not None:
            heads.append((best[2]["epoch"] - start, best))
    return heads


def refit_heads(
    trainer: RowSparseTrainer,
    ranking: dict[str, np.ndarray],
    epochs: list[int],
    config: JointConfig,
    fit: Ratings,
    val: Ratings,
    seed: int,
    should_stop: Callable[[], bool] | None,
) -> list[dict[str, np.ndarray]] | None:
    """The shared vectors, then each head, trained again on fit + validation ratings.

    Steps:
        1. The best ranking weights train config.refit_ranking_epochs more epochs on every rating,
           so the shared vectors (the picks, and the stars' star term) learn from validation too.
        2. Each head, from its seed on those vectors, for the epochs validation chose for it.

    Returns:
        The heads' weights, or None when cancelled (the early-stopped heads are kept then).
    """
    if config.refit_ranking_epochs:
        trainer.restore(ranking)
        rng = np.random.default_rng(head_seed(seed, len(epochs)))
        if not _epochs_on_all(trainer, False, config.refit_ranking_epochs, len(fit) + len(val), rng, should_stop):
            return None
        ranking = trainer.snapshot()
    snaps = []
    for head, count in enumerate(epochs):
        trainer.restore(fresh_head(ranking, config, fit, head_seed(seed, head)))
        rng = np.random.default_rng(head_seed(seed, head))
        if not _epochs_on_all(trainer, True, count, len(fit) + len(val), rng, should_stop):
            return None
        snaps.append(trainer.snapshot())
    return snaps


def _epochs_on_all(
    trainer: RowSparseTrainer,
    rating_pass: bool,
    epochs: int,
    rows: int,
    rng: np.random.Generator,
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Epochs of a pass over the trainer's first `rows` rows (fit, then validation); False when cancelled."""
    phase = trainer.phase(rating_pass)
    for _ in range(epochs):
        if should_stop is not None and should_stop():
            return False
        order, n_batches = trainer.epoch_order(rng, rows)
        trainer.run(rating_pass, order, n_batches, phase)
    return True


def combine_heads(
    snaps: list[dict[str, np.ndarray]], config: JointConfig, fit: Ratings, low: float, high: float
) -> Factors:
    """One joint head that predicts the mean of the heads' stars.

    The stars are linear in each head's parameters, so their mean is a head of the same form:
    mean biases, weight and global mean, and the heads' vectors side by side scaled by
    1/sqrt(heads) (the dot product of two such rows is the mean of the heads' dot products).
    The rating pass freezes the shared embeddings and ranking bias, so all heads share them.
    """
    parts = [export_joint(snap, config, fit, low, high) for snap in snaps]
    out = parts[0]
    if len(parts) == 1:
        return out
    scale = np.float32(1.0 / math.sqrt(len(parts)))
    out.user_bias = np.mean([f.user_bias for f in parts], axis=0).astype(np.float32)
    head = out.head
    head["global_mean"] = np.float32(np.mean([float(f.head["global_mean"]) for f in parts]))
    for key in ("weight", "movie_bias"):
        head[key] = np.mean([f.head[key] for f in parts], axis=0).astype(np.float32)
    for key in ("user_rating_vectors", "movie_rating_vectors"):
        head[key] = np.ascontiguousarray(np.hstack([f.head[key] for f in parts]) * scale)
    return out


def fresh_head(snap: dict[str, np.ndarray], config: JointConfig, fit: Ratings, seed: int) -> dict[str, np.ndarray]:
    """The best ranking weights with the rating head re-initialised.

    The head trained beside the ranking loss has overfitted by the epoch ranking peaks
    (validation RMSE rises from the 7th epoch or so); starting it afresh on the frozen
    shared embeddings gives stars their own pass.
    """
    d, k = config.embedding_dim, config.rating_dim
    rng = np.random.default_rng(seed + 7)
    ut, mt = snap["ut"].copy(), snap["mt"].copy()
    ut[: fit.n_users, d : d + k] = rng.normal(0, config.init_scale, (fit.n_users, k))
    mt[: fit.n_movies, d : d + k] = rng.normal(0, config.init_scale, (fit.n_movies, k))
    ut[:, d + k] = 0.0
    mt[:, d + k] = 0.0
    return {"ut": ut, "mt": mt, "w": np.zeros_like(snap["w"]), "mu": np.float32(fit.rating.mean())}


def export_joint(snap: dict[str, np.ndarray], config: JointConfig, fit: Ratings, low: float, high: float) -> Factors:
    d, k = config.embedding_dim, config.rating_dim
    ut, mt = snap["ut"][: fit.n_users], snap["mt"][: fit.n_movies]
    return Factors(
        user_ids=fit.users.raw,
        movie_ids=fit.movies.raw,
        user_vectors=np.ascontiguousarray(ut[:, :d]),
        movie_vectors=np.ascontiguousarray(mt[:, :d]),
        user_bias=np.ascontiguousarray(ut[:, d + k]),
        movie_bias=np.ascontiguousarray(mt[:, d + k + 1]),
        head={
            "kind": "joint",
            "global_mean": np.float32(snap["mu"]),
            "weight": snap["w"].astype(np.float32),
            "movie_bias": np.ascontiguousarray(mt[:, d + k]),
            "user_rating_vectors": np.ascontiguousarray(ut[:, d : d + k]),
            "movie_rating_vectors": np.ascontiguousarray(mt[:, d : d + k]),
            "low": np.float32(low),
            "high": np.float32(high),
            "fold_alpha": np.float32(20.0),
            "fold_reg": np.float32(1.0),
        },
    )
