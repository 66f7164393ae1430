"""The Keras models: the keras-io tutorial model, and the joint rating + ranking model.

TensorFlow/Keras are imported only by the training code: at the top of this module and training.py,
and inside the functions training.py runs (sparse_trainer.py, losses.py, tutorial.py). Web
processes load none of them (tests/recommender/test_picks.py checks every view's imports).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # silence TensorFlow's start-up banner

import keras
import numpy as np
from keras import layers, ops

from recommender.engine.stars import StarSettings


@dataclass(frozen=True)
class TutorialConfig:
    """The keras-io collaborative-filtering example, kept as a yardstick.

    Attributes:
        embedding_dim: user and movie embedding size.
        learning_rate: Adam's learning rate.
        batch_size: rows per step.
        epochs: passes over the data (the model overfits from epoch 4 on ml-latest-small).
        l2: L2 on the embeddings, as in the example.
    """

    kind: str = "tutorial"
    embedding_dim: int = 50
    learning_rate: float = 0.005
    batch_size: int = 2048
    epochs: int = 3
    l2: float = 1e-6


@dataclass(frozen=True)
class JointConfig(StarSettings):
    """Shared embeddings trained on a ranking loss and a rating loss at once.

    Ranking: in-batch softmax in groups of `group_size` rows (each row's rated movie
    against the other rows' movies of its group), logits corrected by the movies'
    log-popularity so that popular movies are not over-penalised for being sampled
    often. The stars weigh each rating: a liked movie is a positive (more stars, more
    weight), a disliked one (dislike_at or fewer) a negative the softmax must not choose.
    Rating: stars = mean + b_u + b_m + sum(u * w * v) + p_u . q_m, where
    b, w, p, q are the head's own parameters and u, v the shared embeddings.

    Attributes (besides StarSettings' dislike_at, like_at, max_positive and dislike_weight, which
    weigh the ranking loss's ratings):
        embedding_dim: shared embedding size.
        rating_dim: size of the rating head's own user/movie vectors (0: none).
        learning_rate: lazy Adam's learning rate.
        batch_size: rows per step (a multiple of group_size).
        group_size: rows sharing one in-batch softmax; cost per rating grows with it.
        epochs: the most epochs.
        rating_epochs: the most epochs of the rating pass (shared embeddings frozen, stars only).
        patience: epochs without a better validation score before the ranking pass stops.
        rating_patience: the same for the rating pass (its validation RMSE turns up sharply once it overfits).
        min_gain: the least gain over the best validation score, relative, that counts as progress for
            the patience (a flat curve ends the pass); a better epoch by less is still the one kept.
            Off by default: on ml-latest-small the small late gains are worth their epochs (bench/README.md).
        rating_heads: rating heads trained from different seeds on the same frozen shared embeddings;
            their predictions are averaged (exported as one head: concatenated vectors, mean biases).
        l2: per-example L2 on the shared embeddings.
        rating_l2: per-example L2 on the rating head's vectors and biases in the ranking pass.
        head_l2: the same in the rating pass (the head is re-initialised there; this is the one that counts).
        rating_weight: weight of the rating loss beside the ranking loss.
        init_scale: standard deviation of the initial embeddings.
        star_blend: the weight of the predicted stars in the pick score (ranking.PickSpace). More
            serves new people what they will like (protocol P), less what trained users will rate (T).
        val_users: users sampled for the per-epoch validation nDCG (cost bound at scale).
        beta_1, beta_2, epsilon: lazy Adam's other settings.
        refit: after early stopping, train each head again from its seed on training plus validation
            ratings for the epochs validation chose (more data for the stars).
        refit_ranking_epochs: with refit, epochs of the ranking pass on training plus validation
            ratings before the heads' refit, from its best epoch (the shared vectors see every rating).
        jit: compile the step's arithmetic with XLA.
    """

    kind: str = "joint"
    embedding_dim: int = 64
    rating_dim: int = 32
    learning_rate: float = 0.005
    batch_size: int = 1024
    group_size: int = 1024
    epochs: int = 40
    rating_epochs: int = 30
    patience: int = 4
    rating_patience: int = 2
    min_gain: float = 0.0
    rating_heads: int = 3
    l2: float = 0.1
    rating_l2: float = 0.05
    head_l2: float = 0.05
    rating_weight: float = 0.3
    init_scale: float = 0.05
    star_blend: float = 0.85
    val_users: int = 2000
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    refit: bool = True
    refit_ranking_epochs: int = 2
    jit: bool = True


Config = TutorialConfig | JointConfig


@keras.saving.register_keras_serializable(package="recommender")
class TutorialModel(keras.Model):
    """keras-io's RecommenderNet with a per-row dot product.

    The widely copied original computes ``ops.tensordot(user, movie, 2)``, which
    contracts over the whole batch: every row then scores the same sum. Here each
    row gets its own ``sum(user * movie, axis=1)``. Output: sigmoid in [0, 1]; the
    targets are scaled into that range (stars = low + (high - low) * output).
    """

    def __init__(self, n_users: int, n_movies: int, embedding_dim: int = 50, l2: float = 1e-6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_users = n_users
        self.n_movies = n_movies
        self.embedding_dim = embedding_dim
        self.l2 = l2
        self.user_embedding = layers.Embedding(
            n_users, embedding_dim, embeddings_initializer="he_normal", embeddings_regularizer=keras.regularizers.l2(l2)
        )
        self.user_bias = layers.Embedding(n_users, 1)
        self.movie_embedding = layers.Embedding(
            n_movies,
            embedding_dim,
            embeddings_initializer="he_normal",
            embeddings_regularizer=keras.regularizers.l2(l2),
        )
        self.movie_bias = layers.Embedding(n_movies, 1)
        self.out = layers.Dense(1, activation="sigmoid")

    def call(self, inputs: Any) -> Any:
        """Scores in [0, 1] for rows of (user index, movie index).

        Args:
            inputs: int tensor [batch, 2].

        Returns:
            float tensor [batch, 1].
        """
        u = self.user_embedding(inputs[:, 0])
        m = self.movie_embedding(inputs[:, 1])
        dot = ops.sum(u * m, axis=1, keepdims=True)  # per row, never tensordot over the batch
        x = dot + self.user_bias(inputs[:, 0]) + self.movie_bias(inputs[:, 1])
        return self.out(x)

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.update(
            {"n_users": self.n_users, "n_movies": self.n_movies, "embedding_dim": self.embedding_dim, "l2": self.l2}
        )
        return base


@keras.saving.register_keras_serializable(package="recommender")
class JointModel(keras.Model):
    """Shared user/movie embeddings with a ranking score and a rating head.

    Weights are packed per side into one table so a training step does one gather
    and one scatter per side (training.py's row-sparse step):
        user_table  [n_users + 1, dim + rating_dim + 1]: u | p_u | b_u
        movie_table [n_movies + 1, dim + rating_dim + 2]: v | q_m | b_m | c_m (ranking bias)
    The extra last row of each table is a scratch row that padding points at.
    """

    def __init__(
        self,
        n_users: int,
        n_movies: int,
        embedding_dim: int = 64,
        rating_dim: int = 32,
        init_scale: float = 0.05,
        global_mean: float = 3.5,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_users = n_users
        self.n_movies = n_movies
        self.embedding_dim = embedding_dim
        self.rating_dim = rating_dim
        self.init_scale = init_scale
        self.global_mean_init = global_mean
        self.seed = seed
        d, k = embedding_dim, rating_dim
        rng = np.random.default_rng(seed)
        ut = np.zeros((n_users + 1, d + k + 1), dtype=np.float32)
        ut[:n_users, :d] = rng.normal(0, init_scale, (n_users, d))
        ut[:n_users, d : d + k] = rng.normal(0, init_scale, (n_users, k))
        mt = np.zeros((n_movies + 1, d + k + 2), dtype=np.float32)
        mt[:n_movies, :d] = rng.normal(0, init_scale, (n_movies, d))
        mt[:n_movies, d : d + k] = rng.normal(0, init_scale, (n_movies, k))
        self.user_table = self.add_weight(
            shape=ut.shape, initializer=keras.initializers.Constant(ut), name="user_table"
        )
        self.movie_table = self.add_weight(
            shape=mt.shape, initializer=keras.initializers.Constant(mt), name="movie_table"
        )
        self.weight = self.add_weight(shape=(d,), initializer="ones", name="weight")
        self.global_mean = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(global_mean), name="global_mean"
        )

    def split_user(self, rows: Any) -> tuple[Any, Any, Any]:
        d, k = self.embedding_dim, self.rating_dim
        return rows[:, :d], rows[:, d : d + k], rows[:, d + k]

    def split_movie(self, rows: Any) -> tuple[Any, Any, Any, Any]:
        d, k = self.embedding_dim, self.rating_dim
        return rows[:, :d], rows[:, d : d + k], rows[:, d + k], rows[:, d + k + 1]

    def call(self, inputs: Any) -> dict[str, Any]:
        """Per-row stars and ranking scores for rows of (user index, movie index).

        Args:
            inputs: int tensor [batch, 2].

        Returns:
            {"rating": [batch] stars (unclipped), "score": [batch] ranking scores}.
        """
        urows = ops.take(self.user_table, inputs[:, 0], axis=0)
        mrows = ops.take(self.movie_table, inputs[:, 1], axis=0)
        u, p, bu = self.split_user(urows)
        v, q, bm, cm = self.split_movie(mrows)
        rating = self.global_mean + bu + bm + ops.sum(u * self.weight * v, axis=1) + ops.sum(p * q, axis=1)
        score = ops.sum(u * v, axis=1) + cm
        return {"rating": rating, "score": score}

    def get_config(self) -> dict[str, Any]:
        base = super().get_config()
        base.update(
            {
                "n_users": self.n_users,
                "n_movies": self.n_movies,
                "embedding_dim": self.embedding_dim,
                "rating_dim": self.rating_dim,
                "init_scale": self.init_scale,
                "global_mean": self.global_mean_init,
                "seed": self.seed,
            }
        )
        return base


def config_dict(config: Config) -> dict[str, Any]:
    """A config as a plain dict (for metadata and TrainResult.params).

    Args:
        config: a frozen config.

    Returns:
        asdict(config).
    """
    return asdict(config)
