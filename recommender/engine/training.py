"""Training: ratings table -> trained Factors, with per-epoch progress and cancellation.

Two presets:
    "tutorial": the keras-io model with plain ``model.fit`` (Adam 0.005, MSE, batch 2048, 3 epochs).
    "default":  the joint model (model.JointModel) trained by a row-sparse step:
        1. Each epoch, a seeded permutation of the rows is cut into fixed-size batches
           (the last one padded with zero-weight rows pointing at scratch rows), and the
           whole epoch runs as one ``tf.function`` loop that slices the batch in the graph.
        2. Per batch: ``tf.unique`` of the user and movie ids; only those rows of the
           row tables and of their Adam moments are gathered (padded to a bucket size
           with the scratch row, so XLA compiles a handful of shapes). The ranking pass
           moves only the shared tables (embeddings and biases); the rating pass moves only
           the head tables (the head's own vectors and biases) and reads the frozen shared
           vectors without their moments.
        3. The loss, its gradient for the gathered rows and the lazy-Adam update run in one
           XLA-compiled function; the rows are written back with ``scatter_update``.
        Dense Adam over whole embedding tables is what makes plain ``fit`` slow on CPU
        (every step touches every row); here a step costs what its batch touches.
    Validation (a per-user split of the training ratings) gives each epoch's RMSE and
    nDCG@10; training stops when nDCG has not improved for ``patience`` epochs and keeps
    the best epoch's weights.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from recommender.engine import metrics
from recommender.engine.dataset import Ratings, encode, interactions, split_per_user
from recommender.engine.factors import Factors
from recommender.engine.foldin import BAND_LIMITS, fit_fold_maps, fit_prior_weights
from recommender.engine.model import (
    Config,
    JointConfig,
    JointModel,
    TutorialConfig,
    TutorialModel,
    config_dict,
)
from recommender.engine.ranking import recommend_all
from recommender.engine.stars import StarWeights

PRESETS: dict[str, Config] = {
    "tutorial": TutorialConfig(),
    "default": JointConfig(),
    # The default model and objectives with large pre-sliced batches for millions of ratings:
    # the preset's batch of 1,024 runs at ~0.15M ratings/s, this at ~1M/s on 2 cores (bench/README.md).
    # Its accuracy on real ML-25M has not been measured yet.
    # One rating head, no refit: each rating epoch costs about two thirds of a ranking epoch here.
    "large": JointConfig(
        batch_size=131072, group_size=32, learning_rate=0.01, epochs=15, patience=3, rating_heads=1, refit=False
    ),
}
LARGE_FROM = 2_000_000


def preset_for(n_ratings: int) -> str:
    """The joint preset that suits a data size: "default" up to LARGE_FROM ratings, then "large".

    Args:
        n_ratings: ratings in the training snapshot.

    Returns:
        A key of PRESETS.
    """
    return "large" if n_ratings >= LARGE_FROM else "default"


EpochCallback = Callable[[dict], None]
SEGMENT_RATINGS = 4_000_000
FINE_BUCKETS_FROM = 32_768


class TrainingCancelled(Exception):
    """should_stop returned True before the first epoch finished: there is nothing to keep."""


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


def resolve_config(preset: str, overrides: dict | None = None) -> Config:
    """A preset's config with overrides applied.

    Args:
        preset: a key of PRESETS.
        overrides: field -> value; unknown fields raise ValueError.

    Returns:
        The frozen config.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    base = PRESETS[preset]
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"preset {preset!r} has no parameter(s) {unknown}; it has {sorted(names - {'kind'})}")
    return dataclasses.replace(base, **overrides)


def train(
    ratings: pd.DataFrame,
    preset: str = "default",
    *,
    overrides: dict | None = None,
    seed: int = 42,
    validation: float = 0.1,
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
    if validation > 0:
        train_rows, val_rows = split_per_user(data.user, test=validation, seed=seed + 1)
    else:
        train_rows, val_rows = np.arange(len(data)), np.zeros(0, dtype=np.int64)
    fit = data.subset(train_rows)
    val = data.subset(val_rows)
    started = time.perf_counter()
    if isinstance(config, TutorialConfig):
        factors, history, extra = _train_tutorial(config, fit, val, seed, on_epoch, should_stop)
    else:
        factors, history, extra = _train_joint(config, fit, val, seed, on_epoch, should_stop)
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


# --- validation --------------------------------------------------------------------------------


@dataclass
class _Validator:
    """Per-epoch validation RMSE and nDCG@10 computed from exported numpy factors."""

    fit: Ratings
    val: Ratings
    max_users: int
    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        users = np.unique(self.val.user)
        if len(users) > self.max_users:
            users = np.sort(rng.choice(users, self.max_users, replace=False))
        self.users = users
        n_u, n_m = self.fit.n_users, self.fit.n_movies
        self.seen = interactions(self.fit.user, self.fit.movie, n_u, n_m)  # rows by user index, as recommend_all wants
        self.relevant = interactions(self.val.user, self.val.movie, n_u, n_m)[users]

    def rmse(self, factors: Factors) -> float:
        if len(self.val) == 0:
            return float("nan")
        pred = factors.predict_pairs(
            factors.user_vectors[self.val.user],
            factors.user_bias[self.val.user],
            factors.head["user_rating_vectors"][self.val.user] if "user_rating_vectors" in factors.head else None,
            self.val.movie,
        )
        return metrics.rmse(pred, self.val.rating)

    def __call__(self, factors: Factors) -> tuple[float, float]:
        if len(self.val) == 0:
            return float("nan"), float("nan")
        rmse = self.rmse(factors)
        top = recommend_all(factors, n=10, exclude=self.seen, users=self.users, threads=1)
        # recommend_all's rows follow self.users, and so do relevant's.
        ndcg = metrics.top_n_metrics(top, self.relevant, k=10)["ndcg"]
        return rmse, ndcg


def _low_high(data: Ratings) -> tuple[float, float]:
    low, high = float(data.rating.min()), float(data.rating.max())
    if high <= low:
        high = low + 1.0  # one distinct star value: keep the scale invertible
    return low, high


# --- tutorial preset ---------------------------------------------------------------------------


def _train_tutorial(
    config: TutorialConfig,
    fit: Ratings,
    val: Ratings,
    seed: int,
    on_epoch: EpochCallback | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[Factors, list[dict], dict]:
    low, high = _low_high(fit)
    model = TutorialModel(fit.n_users, fit.n_movies, config.embedding_dim, config.l2)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    x = np.stack([fit.user, fit.movie], axis=1).astype(np.int32)
    y = ((fit.rating - low) / (high - low)).astype(np.float32)  # targets scaled into the sigmoid's range
    validate = _Validator(fit, val, 2000, seed)
    history: list[dict] = []

    class _Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if should_stop is not None and batch % 20 == 0 and should_stop():
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self.t0
            rmse, ndcg = validate(_export_tutorial(model, fit, low, high))
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
            if on_epoch:
                on_epoch(row)
            if should_stop is not None and should_stop():
                self.model.stop_training = True

    model.fit(
        x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0, callbacks=[_Progress()]
    )
    if not history:
        raise TrainingCancelled("training was cancelled before the first epoch finished")
    factors = _export_tutorial(model, fit, low, high)
    return factors, history, {"ratings_per_s": float(np.median([h["ratings_per_s"] for h in history]))}


def _export_tutorial(model: TutorialModel, fit: Ratings, low: float, high: float) -> Factors:
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


# --- default (joint) preset ---------------------------------------------------------------------


class _RowSparseTrainer:
    """The joint model's optimiser state and compiled epoch functions (see module doc).

    The packed tables of JointModel are held here as four row tables, so that each pass
    gathers, updates and writes back only what it trains:
        0 user shared [n_users + 1, dim + 1]: u | b_u            trained by the ranking pass
        1 movie shared [n_movies + 1, dim + 2]: v | b_m | c_m    trained by the ranking pass
        2 user head [n_users + 1, rating_dim + 1]: p_u | b_u     trained by the rating pass
        3 movie head [n_movies + 1, rating_dim + 1]: q_m | b_m   trained by the rating pass
    The rating pass reads the frozen u and v from tables 0 and 1 without their moments. The
    head biases live in both: the pass that ran last holds their value (restore() writes both).
    Each table has its own lazy-Adam moments; snapshot() and restore() use JointModel's packed layout.
    """

    def __init__(self, model: JointModel, config: JointConfig, fit: Ratings, extra: Ratings | None = None) -> None:
        """Data: the fit rows first, then `extra`'s (validation, used only by the refit)."""
        self.model = model
        self.config = config
        if config.batch_size % config.group_size:
            raise ValueError(f"batch_size {config.batch_size} must be a multiple of group_size {config.group_size}")
        self.batch = config.batch_size
        n = len(fit)
        extra = extra if extra is not None else fit.subset(np.zeros(0, dtype=np.int64))
        total = n + len(extra)
        # Data as constants in the graph, plus one padding row (scratch user/movie, weight 0).
        # epoch_order(rng, n) shuffles the first n rows: len(fit) for the passes, all for the refit.
        self.users = tf.constant(np.r_[fit.user, extra.user, model.n_users].astype(np.int32))
        self.movies = tf.constant(np.r_[fit.movie, extra.movie, model.n_movies].astype(np.int32))
        self.ratings = tf.constant(np.r_[fit.rating, extra.rating, 0].astype(np.float32))
        self.weights = tf.constant(np.r_[np.ones(total, np.float32), 0].astype(np.float32))
        # How much each rating says "chosen" (the softmax's positive) or "not for me" (its negative).
        stars = np.r_[fit.rating, extra.rating]
        weights = star_weights(config)
        self.pos_w = tf.constant(np.r_[weights.positive(stars), 0].astype(np.float32))
        self.neg_w = tf.constant(np.r_[weights.negative(stars), 0].astype(np.float32))
        counts = np.bincount(fit.movie, minlength=model.n_movies + 1).astype(np.float64)
        logq = np.log(np.maximum(counts, 1.0) / max(n, 1))
        self.logq = tf.constant(logq.astype(np.float32))
        self.pad_row = total
        self.tables = [
            tf.Variable(t, trainable=False) for t in self._split(model.user_table.numpy(), model.movie_table.numpy())
        ]
        self.moments = [
            (tf.Variable(tf.zeros_like(t), trainable=False), tf.Variable(tf.zeros_like(t), trainable=False))
            for t in self.tables
        ]
        self.dense = [
            tf.Variable(model.weight.numpy(), trainable=False),
            tf.Variable(model.global_mean.numpy(), trainable=False),
        ]
        self.dm = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.dense]
        self.dv = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.dense]
        self.step = tf.Variable(0.0, trainable=False)
        self.biases_in_head = False  # which tables hold b_u and b_m now: the last pass's
        self.core = tf.function(self._core, jit_compile=config.jit, reduce_retracing=True)
        scalar, vector = tf.TensorSpec([], tf.float32), tf.TensorSpec([None], tf.float32)
        phase = (scalar, scalar, (vector,) * 2)
        signature = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32), phase]
        # A fixed signature: epoch segments of any length reuse one traced graph. The rating pass
        # has its own graph: no in-batch softmax, and the head tables in play.
        self._run = {
            rating: tf.function(functools.partial(self._run_epoch, rating_pass=rating), input_signature=signature)
            for rating in (False, True)
        }

    def run(self, rating_pass: bool, order: tf.Tensor, n_batches: int, phase: tuple) -> float:
        """Train on the first n_batches batches of `order` (one pass's phase); returns their mean loss."""
        self.biases_in_head = rating_pass
        return float(self._run[rating_pass](order, tf.constant(n_batches, tf.int32), phase))

    def _split(self, ut: np.ndarray, mt: np.ndarray) -> list[np.ndarray]:
        """JointModel's packed rows ([u | p | b_u], [v | q | b_m | c_m]) -> the four tables."""
        d, k = self.config.embedding_dim, self.config.rating_dim
        return [
            np.ascontiguousarray(np.hstack([ut[:, :d], ut[:, d + k :]])),
            np.ascontiguousarray(np.hstack([mt[:, :d], mt[:, d + k :]])),
            np.ascontiguousarray(ut[:, d:]),
            np.ascontiguousarray(mt[:, d : d + k + 1]),
        ]

    def _core(
        self,
        rows,
        moments,
        dense,
        dm,
        dv,
        uinv,
        minv,
        frozen,
        movie_ids,
        rating,
        weight,
        pos_w,
        neg_w,
        logq,
        step,
        phase,
        rating_pass,
    ):
        """Loss, gradients and lazy Adam for the gathered rows of the user and movie table in play.

        Ranking pass: tables 0 and 1. Rating pass: tables 2 and 3, with `frozen` = the ratings'
        shared vectors (u, v), read from tables 0 and 1 and not trained.
        """
        c = self.config
        b1, b2, eps, lr = c.beta_1, c.beta_2, c.epsilon, c.learning_rate
        d, k = c.embedding_dim, c.rating_dim
        rank_w, rating_w, l2s = phase
        inverse = [uinv, minv]
        with tf.GradientTape() as tape:
            tape.watch([*rows, *dense])
            w_vec, mu = dense
            u_all, m_all = (tf.gather(r, inv) for r, inv in zip(rows, inverse, strict=True))
            if rating_pass:
                (u, v), bu, bm = frozen, u_all[:, k], m_all[:, k]
            else:
                u, bu = u_all[:, :d], u_all[:, d]
                v, bm, cm = m_all[:, :d], m_all[:, d], m_all[:, d + 1]
            wsum = tf.maximum(tf.reduce_sum(weight), 1.0)
            pred = mu + bu + bm + tf.reduce_sum(u * w_vec * v, axis=1)
            if rating_pass:
                pred += tf.reduce_sum(u_all[:, :k] * m_all[:, :k], axis=1)
            rating_loss = tf.reduce_sum(weight * tf.square(pred - rating)) / wsum
            # The rating pass has ranking weight 0: skip the softmax rather than multiply it by 0.
            rank_loss = (
                tf.constant(0.0)
                if rating_pass
                else self._rank_loss(u, v, cm, logq, movie_ids, weight, pos_w, neg_w) / wsum
            )
            # Per-example L2 summed per row: each gathered row once, weighted by its ratings in the batch.
            counts = [
                tf.math.unsorted_segment_sum(weight, inv, tf.shape(r)[0]) for r, inv in zip(rows, inverse, strict=True)
            ]
            reg = (
                tf.add_n(
                    [tf.reduce_sum(c[:, None] * tf.square(x) * l2) for x, c, l2 in zip(rows, counts, l2s, strict=True)]
                )
                / wsum
            )
            loss = rank_w * rank_loss + rating_w * rating_loss + reg
        # Gradients of gathered rows come back as IndexedSlices; the rows are unique, so densify.
        grads = [tf.convert_to_tensor(gr) for gr in tape.gradient(loss, [*rows, *dense])]
        # Lazy Adam: only the gathered rows' moments move; bias correction uses the global step.
        lr_t = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))

        def adam(x, m, s, gr):
            m2 = b1 * m + (1.0 - b1) * gr
            s2 = b2 * s + (1.0 - b2) * tf.square(gr)
            return x - lr_t * m2 / (tf.sqrt(s2) + eps), m2, s2

        new_rows = [adam(x, m, s, gr) for x, (m, s), gr in zip(rows, moments, grads, strict=False)]
        nd = [adam(x, m, s, gr) for x, m, s, gr in zip(dense, dm, dv, grads[len(rows) :], strict=True)]
        return new_rows, nd, loss

    def _rank_loss(self, u, v, cm, logq, movie_ids, weight, pos_w, neg_w):
        """Summed in-batch softmax losses: each row's movie against its group's other movies.

        A rating weighs as "chosen" by its stars (pos_w: cross-entropy of its own movie) and a low
        one as "not chosen" (neg_w: -log of the probability mass left to the other movies).
        """
        d, g = self.config.embedding_dim, self.config.group_size
        ng = self.batch // g
        ug = tf.reshape(u, [ng, g, d])
        vg = tf.reshape(v, [ng, g, d])
        corr = tf.reshape(cm - logq, [ng, 1, g])
        logits = tf.matmul(ug, vg, transpose_b=True) + corr
        ids = tf.reshape(movie_ids, [ng, g])
        same = tf.equal(ids[:, :, None], ids[:, None, :])
        eye = tf.eye(g, batch_shape=[1], dtype=tf.bool)
        # Another row's copy of my own movie is not a negative; padding rows are nobody's negative.
        drop = (same & ~eye) | tf.reshape(weight <= 0, [ng, 1, g])
        logits = tf.where(drop, tf.constant(-1e9, logits.dtype), logits)
        positive = tf.reshape(tf.reduce_sum(ug * vg, axis=-1), [-1]) + cm - logq
        flat = tf.reshape(logits, [-1, g])
        everything = tf.reduce_logsumexp(flat, axis=-1)
        chosen = everything - positive  # -log p(own movie): a liked rating should be chosen
        own = tf.reshape(tf.broadcast_to(eye, [ng, g, g]), [-1, g])
        others = tf.reduce_logsumexp(tf.where(own, tf.constant(-1e9, flat.dtype), flat), axis=-1)
        not_chosen = everything - others  # -log(1 - p(own movie)): a disliked one should not be
        return tf.reduce_sum(pos_w * chosen) + tf.reduce_sum(neg_w * not_chosen)

    def _unique_padded(self, ids, scratch):
        """Unique ids padded with the scratch row to a bucket size (at least 256, at most the batch).

        Padding keeps the XLA step to a handful of compiled shapes; padding to the next power
        of two rather than to the whole batch avoids updating tens of thousands of scratch
        rows per step when a large batch holds few distinct movies.
        """
        uniq, inv = tf.unique(ids)
        n = tf.size(uniq)
        log2 = tf.math.log(tf.cast(tf.maximum(n, 1), tf.float32)) / math.log(2.0)
        power = tf.cast(tf.pow(2.0, tf.math.ceil(log2)), tf.int32)
        # From FINE_BUCKETS_FROM rows on, a multiple of an eighth of n's power of two instead
        # (at most 12.5% scratch rows, not up to 100%); counts at that size vary little between
        # batches, so this adds few compiled shapes.
        eighth = tf.maximum(tf.cast(tf.pow(2.0, tf.math.floor(log2) - 3.0), tf.int32), 1)
        fine = (n + eighth - 1) // eighth * eighth
        bucket = tf.where(n >= FINE_BUCKETS_FROM, fine, power)
        bucket = tf.clip_by_value(tf.maximum(bucket, n), 256, self.batch)
        pad = tf.fill([tf.maximum(bucket - n, 0)], scratch)
        return tf.concat([uniq, pad], axis=0), inv

    def _run_epoch(self, order, n_batches, phase, rating_pass=False):
        tables, moments = (self.tables[2:], self.moments[2:]) if rating_pass else (self.tables[:2], self.moments[:2])
        d = self.config.embedding_dim
        total = tf.constant(0.0)
        for i in tf.range(n_batches):
            rows = order[i * self.batch : (i + 1) * self.batch]
            users = tf.gather(self.users, rows)
            movies = tf.gather(self.movies, rows)
            rating = tf.gather(self.ratings, rows)
            weight = tf.gather(self.weights, rows)
            pos_w = tf.gather(self.pos_w, rows)
            neg_w = tf.gather(self.neg_w, rows)
            logq = tf.gather(self.logq, movies)
            uu, uinv = self._unique_padded(users, self.model.n_users)
            mu, minv = self._unique_padded(movies, self.model.n_movies)
            ids = [uu, mu]
            # The rating pass's frozen shared vectors, per rating (no moments, nothing written back).
            frozen = (
                (tf.gather(self.tables[0], users)[:, :d], tf.gather(self.tables[1], movies)[:, :d])
                if rating_pass
                else ()
            )
            self.step.assign_add(1.0)
            new_rows, nd, loss = self.core(
                [tf.gather(t, i) for t, i in zip(tables, ids, strict=True)],
                [(tf.gather(m, i), tf.gather(s, i)) for (m, s), i in zip(moments, ids, strict=True)],
                [tf.identity(v) for v in self.dense],
                [tf.identity(v) for v in self.dm],
                [tf.identity(v) for v in self.dv],
                uinv,
                minv,
                frozen,
                movies,
                rating,
                weight,
                pos_w,
                neg_w,
                logq,
                self.step.read_value(),
                phase,
                rating_pass,
            )
            for table, (m, s), index, (x2, m2, s2) in zip(tables, moments, ids, new_rows, strict=True):
                table.scatter_update(tf.IndexedSlices(x2, index))
                m.scatter_update(tf.IndexedSlices(m2, index))
                s.scatter_update(tf.IndexedSlices(s2, index))
            for j, (x, m, s) in enumerate(nd):
                self.dense[j].assign(x)
                self.dm[j].assign(m)
                self.dv[j].assign(s)
            total += loss
        return total / tf.cast(n_batches, tf.float32)

    def epoch_order(self, rng: np.random.Generator, n: int) -> tuple[tf.Tensor, int]:
        """A shuffled row order padded to whole batches with the padding row."""
        n_batches = max(1, math.ceil(n / self.batch))
        order = np.full(n_batches * self.batch, self.pad_row, dtype=np.int32)
        order[:n] = rng.permutation(n)
        return tf.constant(order), n_batches

    def phase(self, rating_pass: bool) -> tuple:
        """(ranking weight, rating weight, per-column L2 of the user and the movie table in play).

        The ranking pass trains tables 0 and 1 with l2 on the embeddings and rating_l2 on the head
        biases (the ranking bias is never penalised); the rating pass trains tables 2 and 3 (the
        head vectors and biases) with head_l2 on every column.
        """
        c = self.config
        d, k = c.embedding_dim, c.rating_dim
        if rating_pass:
            l2s = [np.full(k + 1, c.head_l2), np.full(k + 1, c.head_l2)]
            weights = (0.0, 1.0)
        else:
            l2s = [np.r_[np.full(d, c.l2), c.rating_l2], np.r_[np.full(d, c.l2), c.rating_l2, 0.0]]
            weights = (1.0, float(c.rating_weight))
        return (
            tf.constant(weights[0]),
            tf.constant(weights[1]),
            tuple(tf.constant(np.asarray(x, np.float32)) for x in l2s),
        )

    def restore(self, snap: dict[str, np.ndarray]) -> None:
        """Put a snapshot's weights back and restart the optimiser (a new pass)."""
        for table, value in zip(self.tables, self._split(snap["ut"], snap["mt"]), strict=True):
            table.assign(value)
        self.dense[0].assign(snap["w"])
        self.dense[1].assign(snap["mu"])
        for var in (*(m for pair in self.moments for m in pair), *self.dm, *self.dv):
            var.assign(tf.zeros_like(var))
        self.step.assign(0.0)

    def snapshot(self) -> dict[str, np.ndarray]:
        """The weights in JointModel's packed layout (what _fresh_head and _export_joint read)."""
        d, k = self.config.embedding_dim, self.config.rating_dim
        us, ms, uh, mh = (t.numpy() for t in self.tables)
        # b_u and b_m: from the tables of the pass that ran last.
        bu, bm = (uh[:, k:], mh[:, k:]) if self.biases_in_head else (us[:, d:], ms[:, d : d + 1])
        return {
            "ut": np.hstack([us[:, :d], uh[:, :k], bu]),
            "mt": np.hstack([ms[:, :d], mh[:, :k], bm, ms[:, d + 1 :]]),
            "w": self.dense[0].numpy(),
            "mu": self.dense[1].numpy(),
        }


def _train_joint(
    config: JointConfig,
    fit: Ratings,
    val: Ratings,
    seed: int,
    on_epoch: EpochCallback | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[Factors, list[dict], dict]:
    low, high = _low_high(fit)
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
    trainer = _RowSparseTrainer(model, config, fit, val if config.refit else None)
    validate = _Validator(fit, val, config.val_users, seed)
    rng = np.random.default_rng(seed)
    history: list[dict] = []
    best_rank = _run_pass(
        trainer,
        False,
        config.epochs,
        config,
        fit,
        rng,
        history,
        on_epoch,
        should_stop,
        lambda snap: validate(_export_joint(snap, config, fit, low, high)),
    )
    if best_rank is None:
        raise TrainingCancelled("training was cancelled before the first epoch finished")
    best, extra = best_rank, {}
    heads = []
    if config.rating_epochs > 0 and len(val) and not (should_stop is not None and should_stop()):
        heads = _rating_heads(trainer, best_rank, config, fit, validate, seed, history, on_epoch, should_stop)
    if heads:
        best = min((h[1] for h in heads), key=lambda b: b[2]["val_rmse"])
        factors = _combine_heads([h[1][1] for h in heads], config, fit, low, high)
        extra["val_rmse"] = validate.rmse(factors)  # the heads' mean, before the refit sees validation
        extra["rating_epochs"] = [h[0] for h in heads]
        if config.refit:
            snaps = _refit_heads(trainer, best_rank[1], [h[0] for h in heads], config, fit, val, seed, should_stop)
            if snaps is not None:
                factors = _combine_heads(snaps, config, fit, low, high)
                extra["refit"] = True
    else:
        factors = _export_joint(best[1], config, fit, low, high)
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


def star_weights(config: JointConfig) -> StarWeights:
    """The config's reading of stars as taste (shared by the ranking loss and fold-in)."""
    return StarWeights(config.dislike_at, config.like_at, config.max_positive, config.dislike_weight)


def _calibrate_fold_in(factors: Factors, config: JointConfig, fit: Ratings, val: Ratings, seed: int) -> None:
    """What fold-in and the picks need beside the tables, written into the head.

    Steps:
        1. The star weights the ranking loss used, and the weight of the predicted stars in the
           pick score.
        2. The fold-in maps, fitted on trained users' handfuls of ratings (foldin.fit_fold_maps).
        3. The popularity prior's weight per number of ratings, chosen on validation
           (foldin.fit_prior_weights); 1 everywhere without validation ratings.
    """
    factors.head.update(star_weights(config).head_arrays())
    factors.head["star_blend"] = np.float32(config.star_blend)
    factors.head["fold_maps"] = fit_fold_maps(factors, fit.user, fit.movie, fit.rating, seed=seed)
    weights = (
        fit_prior_weights(factors, (fit.user, fit.movie, fit.rating), (val.user, val.movie, val.rating), seed=seed)
        if len(val)
        else np.ones(len(BAND_LIMITS) + 1, dtype=np.float32)
    )
    factors.head["prior_weights"] = weights


def _head_seed(seed: int, head: int) -> int:
    return seed + 101 * head


def _rating_heads(
    trainer: _RowSparseTrainer,
    best_rank: tuple[float, dict[str, np.ndarray], dict],
    config: JointConfig,
    fit: Ratings,
    validate: _Validator,
    seed: int,
    history: list[dict],
    on_epoch: EpochCallback | None,
    should_stop: Callable[[], bool] | None,
) -> list[tuple[int, tuple[float, dict[str, np.ndarray], dict]]]:
    """The rating pass once per head.

    Shared embeddings and ranking bias stay frozen at the best ranking epoch; the head's
    own parameters, re-initialised from the head's seed, train on stars alone and stop on
    validation RMSE.

    Returns:
        (rating epochs up to the best one, (score, weights, history row) of the best) per finished head.
    """
    low, high = _low_high(fit)
    ndcg = best_rank[2]["val_ndcg"]

    def rmse_only(snap: dict[str, np.ndarray]) -> tuple[float, float]:
        return validate.rmse(_export_joint(snap, config, fit, low, high)), ndcg

    heads = []
    for head in range(config.rating_heads):
        if should_stop is not None and should_stop():
            break
        start = len(history)
        trainer.restore(_fresh_head(best_rank[1], config, fit, _head_seed(seed, head)))
        rng = np.random.default_rng(_head_seed(seed, head))
        best = _run_pass(
            trainer, True, config.rating_epochs, config, fit, rng, history, on_epoch, should_stop, rmse_only
        )
        if best is not None:
            heads.append((best[2]["epoch"] - start, best))
    return heads


def _refit_heads(
    trainer: _RowSparseTrainer,
    ranking: dict[str, np.ndarray],
    epochs: list[int],
    config: JointConfig,
    fit: Ratings,
    val: Ratings,
    seed: int,
    should_stop: Callable[[], bool] | None,
) -> list[dict[str, np.ndarray]] | None:
    """Each head trained again from its seed on fit + validation ratings for its chosen epochs.

    Returns:
        The heads' weights, or None when cancelled (the early-stopped heads are kept then).
    """
    phase = trainer.phase(True)
    snaps = []
    for head, count in enumerate(epochs):
        trainer.restore(_fresh_head(ranking, config, fit, _head_seed(seed, head)))
        rng = np.random.default_rng(_head_seed(seed, head))
        for _ in range(count):
            if should_stop is not None and should_stop():
                return None
            order, n_batches = trainer.epoch_order(rng, len(fit) + len(val))
            trainer.run(True, order, n_batches, phase)
        snaps.append(trainer.snapshot())
    return snaps


def _combine_heads(
    snaps: list[dict[str, np.ndarray]], config: JointConfig, fit: Ratings, low: float, high: float
) -> Factors:
    """One joint head that predicts the mean of the heads' stars.

    The stars are linear in each head's parameters, so their mean is a head of the same form:
    mean biases, weight and global mean, and the heads' vectors side by side scaled by
    1/sqrt(heads) (the dot product of two such rows is the mean of the heads' dot products).
    The rating pass freezes the shared embeddings and ranking bias, so all heads share them.
    """
    parts = [_export_joint(snap, config, fit, low, high) for snap in snaps]
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


def _run_pass(
    trainer: _RowSparseTrainer,
    rating_pass: bool,
    epochs: int,
    config: JointConfig,
    fit: Ratings,
    rng: np.random.Generator,
    history: list[dict],
    on_epoch: EpochCallback | None,
    should_stop: Callable[[], bool] | None,
    measure: Callable[[dict[str, np.ndarray]], tuple[float, float]],
) -> tuple[float, dict[str, np.ndarray], dict] | None:
    """Epochs of one pass with early stopping; returns (score, weights, history row) of the best epoch.

    The ranking pass keeps the best validation nDCG, the rating pass the best (lowest) RMSE.
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
        if best is None or score > best[0]:
            best, waited = (score, snap, row), 0
        else:
            waited += 1
            if waited >= (config.rating_patience if rating_pass else config.patience):
                break
        if stopped:
            break
    return best


def _fresh_head(snap: dict[str, np.ndarray], config: JointConfig, fit: Ratings, seed: int) -> dict[str, np.ndarray]:
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


def _round_up(n: int, multiple: int) -> int:
    return max(multiple, -(-n // multiple) * multiple)


def _export_joint(snap: dict[str, np.ndarray], config: JointConfig, fit: Ratings, low: float, high: float) -> Factors:
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
