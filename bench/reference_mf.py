"""The reference training design, timed beside ours: plain matrix factorisation, lazy Adam.

This design was once measured at 2.05M ratings/s (batch 262,144, 64 dims, 2 cores) on a faster
machine than some of ours, and the 2M/s throughput target comes from that figure. Timing it in
the same run as the default preset tells the machine apart from the code: the default preset
does strictly more per rating (an in-batch softmax over 32 movies beside the stars), so it cannot
beat this step on the same machine.

The step: per batch, ``tf.unique`` of the user and movie ids; gather those rows of the tables and
of their Adam moments; one XLA-compiled function for the MSE on the stars (dot product plus
biases, per-example L2), its gradient and lazy Adam; ``scatter_update`` writes the rows back. The
whole run of batches is one ``tf.function`` loop over a pre-shuffled order, as in training.py.
Bench-only code: the site never trains with it.
"""

from __future__ import annotations

import os
import time

import numpy as np
import tensorflow as tf

BATCH = 262_144
PAD_TO = 4_096  # unique ids are padded to a multiple of this with a scratch row, so XLA compiles a few shapes
LEARNING_RATE, L2, BETA_1, BETA_2, EPSILON = 0.01, 0.05, 0.9, 0.999, 1e-7


@tf.function(jit_compile=True)
def _core(user_rows, movie_rows, user_moments, movie_moments, uinv, minv, rating, mean, step):
    """MSE + L2 on the gathered rows, then lazy Adam on them: new rows and moments, and the loss."""
    d = user_rows.shape[1] - 1
    with tf.GradientTape() as tape:
        tape.watch([user_rows, movie_rows])
        u, m = tf.gather(user_rows, uinv), tf.gather(movie_rows, minv)
        pred = mean + u[:, d] + m[:, d] + tf.reduce_sum(u[:, :d] * m[:, :d], axis=1)
        n = tf.cast(tf.size(rating), tf.float32)
        loss = tf.reduce_sum(tf.square(pred - rating)) / n
        loss += L2 * (tf.reduce_sum(tf.square(u[:, :d])) + tf.reduce_sum(tf.square(m[:, :d]))) / n
    grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, [user_rows, movie_rows])]
    lr_t = LEARNING_RATE * tf.sqrt(1.0 - tf.pow(BETA_2, step)) / (1.0 - tf.pow(BETA_1, step))
    out = []
    for x, (mom, vel), g in zip((user_rows, movie_rows), (user_moments, movie_moments), grads, strict=True):
        mom2 = BETA_1 * mom + (1.0 - BETA_1) * g
        vel2 = BETA_2 * vel + (1.0 - BETA_2) * tf.square(g)
        out.append((x - lr_t * mom2 / (tf.sqrt(vel2) + EPSILON), mom2, vel2))
    return out, loss


def _unique_padded(ids: tf.Tensor, scratch: int) -> tuple[tf.Tensor, tf.Tensor]:
    uniq, inv = tf.unique(ids)
    n = tf.size(uniq)
    pad = (n + PAD_TO - 1) // PAD_TO * PAD_TO - n
    return tf.concat([uniq, tf.fill([pad], scratch)], axis=0), inv


class _PlainMF:
    def __init__(self, user: np.ndarray, movie: np.ndarray, rating: np.ndarray, n_users: int, n_movies: int, dim: int):
        rng = np.random.default_rng(0)
        self.users, self.movies = tf.constant(user.astype(np.int32)), tf.constant(movie.astype(np.int32))
        self.ratings = tf.constant(rating.astype(np.float32))
        self.mean = tf.constant(float(rating.mean()), tf.float32)
        # One scratch row at the end of each table: the padding of the unique ids points there.
        self.scratch = (n_users, n_movies)
        self.tables = [
            tf.Variable((rng.normal(size=(n + 1, dim + 1)) * 0.05).astype(np.float32)) for n in (n_users, n_movies)
        ]
        self.moments = [(tf.Variable(tf.zeros_like(t)), tf.Variable(tf.zeros_like(t))) for t in self.tables]
        self.step = tf.Variable(0.0)

    @tf.function
    def run(self, order: tf.Tensor, n_batches: tf.Tensor) -> tf.Tensor:
        total = tf.constant(0.0)
        for i in tf.range(n_batches):
            rows = order[i * BATCH : (i + 1) * BATCH]
            uids, uinv = _unique_padded(tf.gather(self.users, rows), self.scratch[0])
            mids, minv = _unique_padded(tf.gather(self.movies, rows), self.scratch[1])
            ids = (uids, mids)
            self.step.assign_add(1.0)
            new, loss = _core(
                *(tf.gather(t, i) for t, i in zip(self.tables, ids, strict=True)),
                *((tf.gather(m, i), tf.gather(v, i)) for (m, v), i in zip(self.moments, ids, strict=True)),
                uinv,
                minv,
                tf.gather(self.ratings, rows),
                self.mean,
                self.step.read_value(),
            )
            for table, (m, v), i, (x2, m2, v2) in zip(self.tables, self.moments, ids, new, strict=True):
                table.scatter_update(tf.IndexedSlices(x2, i))
                m.scatter_update(tf.IndexedSlices(m2, i))
                v.scatter_update(tf.IndexedSlices(v2, i))
            total += loss
        return total / tf.cast(n_batches, tf.float32)


def reference_speed(
    user: np.ndarray, movie: np.ndarray, rating: np.ndarray, n_users: int, n_movies: int, dim: int, batches: int = 60
) -> dict:
    """Ratings/s of the reference step over `batches` batches after a warm-up, with the cores it kept busy.

    Args:
        user, movie: dense indices of each rating; rating: the stars.
        n_users, n_movies: table sizes; dim: embedding size.
        batches: timed batches (at most what the ratings hold after the warm-up's 8).

    Returns:
        {"ratings_per_s", "cores", "loss_first", "loss_last", "ratings"}.
    """
    mf = _PlainMF(user, movie, rating, n_users, n_movies, dim)
    order = tf.constant(np.random.default_rng(1).permutation(len(rating)).astype(np.int32))
    warm = 8
    batches = max(1, min(batches, len(rating) // BATCH - warm))
    first = float(mf.run(order[: warm * BATCH], tf.constant(warm)))  # compiles the XLA shapes
    wall, cpu = time.perf_counter(), time.process_time()
    last = float(mf.run(order[warm * BATCH : (warm + batches) * BATCH], tf.constant(batches)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = batches * BATCH
    return {"ratings_per_s": done / wall, "cores": cpu / wall, "loss_first": first, "loss_last": last, "ratings": done}


if __name__ == "__main__":  # quick look on ML-25M-shaped data: python bench/reference_mf.py
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from movies.synthetic import synthetic_ratings

    s = synthetic_ratings(scale=1.0, seed=0)
    _, u = np.unique(s.user, return_inverse=True)
    _, m = np.unique(s.movie, return_inverse=True)
    print(reference_speed(u, m, s.rating, int(u.max()) + 1, int(m.max()) + 1, 64))
