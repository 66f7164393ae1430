"""The ranking loss: an in-batch softmax whose positives and negatives are weighed by the stars."""

from __future__ import annotations

NOT_CHOSEN_FLOOR = 1e-9  # 1 - p(own movie) below this counts as this: -log of it is about 20.7


def in_batch_softmax_loss(u, v, bias, movie_ids, weight, positive_weight, negative_weight, *, group: int):
    """Summed in-batch softmax losses: each row's movie against the other movies of its group.

    Rows are cut into groups of `group`; within one, every row's user scores every row's movie.
    A rating weighs as "chosen" by positive_weight (the cross-entropy of its own movie) and a
    low one as "not chosen" by negative_weight (-log of the probability mass left to the other
    movies), so the ranking learns that a 1-star rating means "not for me".

    Args:
        u: user vectors per row [rows, dim] (rows a multiple of group).
        v: movie vectors per row [rows, dim].
        bias: per row, the movie's ranking bias less its log-popularity (the sampling correction).
        movie_ids: per row, the movie (another row's copy of my movie is not my negative).
        weight: per row, 0 for padding (padding is nobody's negative).
        positive_weight: per row, how much it says "chosen".
        negative_weight: per row, how much it says "not chosen".
        group: rows sharing one softmax.

    Returns:
        The summed loss (a scalar).
    """
    import tensorflow as tf  # here, not at the top: only a training process imports TensorFlow

    d = tf.shape(u)[1]
    ug = tf.reshape(u, [-1, group, d])
    vg = tf.reshape(v, [-1, group, d])
    logits = tf.matmul(ug, vg, transpose_b=True) + tf.reshape(bias, [-1, 1, group])
    ids = tf.reshape(movie_ids, [-1, group])
    same = tf.equal(ids[:, :, None], ids[:, None, :])
    eye = tf.eye(group, batch_shape=[1], dtype=tf.bool)
    drop = (same & ~eye) | tf.reshape(weight <= 0, [-1, 1, group])
    logits = tf.where(drop, tf.constant(-1e9, logits.dtype), logits)
    positive = tf.reshape(tf.reduce_sum(ug * vg, axis=-1), [-1]) + bias
    everything = tf.reduce_logsumexp(tf.reshape(logits, [-1, group]), axis=-1)
    chosen = everything - positive  # -log p(own movie), >= 0
    # -log(1 - p) from -log p: one logsumexp per row, not a second one over the other movies.
    # The floor keeps a row whose own movie takes all the mass finite (its gradient is then 0).
    not_chosen = -tf.math.log(tf.maximum(-tf.math.expm1(-chosen), NOT_CHOSEN_FLOOR))
    return tf.reduce_sum(positive_weight * chosen) + tf.reduce_sum(negative_weight * not_chosen)
