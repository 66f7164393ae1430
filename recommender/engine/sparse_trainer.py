"""The row-sparse lazy-Adam step that trains the joint model: a step costs what its batch touches.

Steps:
    1. Each epoch, a seeded permutation of the rows is cut into fixed-size batches (the last one
       padded with zero-weight rows pointing at scratch rows), and the whole epoch runs as one
       ``tf.function`` loop that slices the batch in the graph.
    2. Per batch: ``tf.unique`` of the user and movie ids; only those rows of the row tables and
       of their Adam moments are gathered (padded with the scratch row to the batch size, or for
       large batches to a bucket size, so XLA compiles one shape or a handful). The ranking pass
       moves only the shared tables (embeddings and biases); the rating pass moves only the head
       tables (the head's own vectors and biases) and reads the frozen shared vectors without
       their moments.
    3. The loss, its gradient for the gathered rows and the lazy-Adam update run in one
       XLA-compiled function; the rows are written back with ``scatter_update``.
Dense Adam over whole embedding tables is what makes plain ``fit`` slow on CPU (every step
touches every row).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from recommender.engine.dataset import Ratings
from recommender.engine.losses import in_batch_softmax_loss
from recommender.engine.model import JointConfig, JointModel
from recommender.engine.stars import StarWeights

# Each method imports TensorFlow itself: importing this module loads none of it (house rule: only a
# training process ever does, and only model.py and training.py import it at their top).
if TYPE_CHECKING:
    import tensorflow as tf

FINE_BUCKETS_FROM = 32_768
# Batches up to this size pad their unique rows to the whole batch (_unique_padded).
WHOLE_BATCH_UP_TO = 8192


class StepState(NamedTuple):
    """What one step reads of the optimiser state: the gathered rows and the dense weights."""

    rows: list[Any]  # gathered rows of the user and movie table in play
    moments: list[tuple[Any, Any]]  # their Adam moments (first, second)
    dense: list[Any]  # the weight vector w and the global mean
    dense_m: list[Any]  # their Adam moments
    dense_v: list[Any]
    step: Any  # the global step, for Adam's bias correction


class Batch(NamedTuple):
    """One batch's ratings, as the step sees them."""

    user_inverse: Any  # per rating, its row among the gathered user rows
    movie_inverse: Any  # per rating, its row among the gathered movie rows
    frozen: tuple  # rating pass: the ratings' shared vectors (u, v); ranking pass: ()
    movie_ids: Any
    rating: Any
    weight: Any  # 0 for padding rows
    positive_weight: Any  # stars.StarWeights.positive
    negative_weight: Any  # stars.StarWeights.negative
    logq: Any  # the movies' log-popularity (the sampling correction)


def star_weights(config: JointConfig) -> StarWeights:
    """The config's reading of stars as taste (shared by the ranking loss and fold-in)."""
    return StarWeights(config.dislike_at, config.like_at, config.max_positive, config.dislike_weight)


class RowSparseTrainer:
    """The joint model's optimiser state and compiled epoch functions (see the module doc).

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
        import tensorflow as tf

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
        import tensorflow as tf

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

    def _core(self, state: StepState, batch: Batch, phase: tuple, rating_pass: bool):
        """Loss, gradients and lazy Adam for the gathered rows of the user and movie table in play.

        Ranking pass: tables 0 and 1. Rating pass: tables 2 and 3, with batch.frozen = the ratings'
        shared vectors (u, v), read from tables 0 and 1 and not trained.
        """
        import tensorflow as tf

        rows, moments, dense, dm, dv, step = state
        uinv, minv, frozen, movie_ids, rating, weight, pos_w, neg_w, logq = batch
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
                else in_batch_softmax_loss(
                    u, v, cm - logq, movie_ids, weight, pos_w, neg_w, group=self.config.group_size
                )
                / wsum
            )
            # Per-example L2: each rating's rows, on the per-rating gathers the loss reads anyway (their
            # gradient joins the loss's in one scatter, where per-row counts would need a segment sum).
            reg = (
                tf.reduce_sum(weight * tf.reduce_sum(tf.square(u_all) * l2s[0], axis=1))
                + tf.reduce_sum(weight * tf.reduce_sum(tf.square(m_all) * l2s[1], axis=1))
            ) / wsum
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

    def _unique_padded(self, ids, scratch):
        """Unique ids padded with the scratch row to a bucket size (at least 256, at most the batch).

        Padding keeps the XLA step to a handful of compiled shapes. A batch of at most
        WHOLE_BATCH_UP_TO is padded to itself: one shape, and no compile in the middle of a pass
        (about a second each) when a batch's count first crosses a bucket. A larger batch is padded
        to the next power of two rather than to the whole batch, which avoids updating tens of
        thousands of scratch rows per step when it holds few distinct movies.
        """
        import tensorflow as tf

        uniq, inv = tf.unique(ids)
        n = tf.size(uniq)
        if self.batch <= WHOLE_BATCH_UP_TO:
            return tf.concat([uniq, tf.fill([self.batch - n], scratch)], axis=0), inv
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
        import tensorflow as tf

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
            state = StepState(
                [tf.gather(t, i) for t, i in zip(tables, ids, strict=True)],
                [(tf.gather(m, i), tf.gather(s, i)) for (m, s), i in zip(moments, ids, strict=True)],
                [tf.identity(v) for v in self.dense],
                [tf.identity(v) for v in self.dm],
                [tf.identity(v) for v in self.dv],
                self.step.read_value(),
            )
            batch = Batch(uinv, minv, frozen, movies, rating, weight, pos_w, neg_w, logq)
            new_rows, nd, loss = self.core(state, batch, phase, rating_pass)
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
        import tensorflow as tf

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
        import tensorflow as tf

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
        import tensorflow as tf

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
