"""The recommender engine: pure Python (numpy, pandas, scikit-learn; Keras only to train).

Never imports Django, Celery or Redis. Only ``model`` and ``training`` import
TensorFlow/Keras; everything a web process needs (ids, factors, ranking, similar, metrics)
imports without it, and without pandas or scipy too (similar imports scikit-learn
inside the functions that cluster and map). Importing this package imports nothing.

Public API
----------
training (TensorFlow):
    train(ratings: DataFrame[userId, movieId, rating], preset="default", *, overrides=None,
          seed=42, validation=0.1, on_epoch=None, should_stop=None) -> TrainResult
        TrainResult: .factors (Factors, metadata filled: preset, params, metrics, snapshot, history,
        created), .history (list of {epoch, phase ("ranking" | "rating"), loss, val_rmse, val_ndcg,
        seconds, ratings_per_s[, partial]}), .metrics (val_rmse, val_ndcg, best_epoch, epochs_run,
        train_seconds, ratings_per_s, ...), .params (preset, seed, validation and every config field)
        should_stop is polled before each epoch and every ~4M ratings inside one (SEGMENT_RATINGS).
        raises ValueError (bad table/preset/override), TrainingCancelled (stopped before epoch 1)
    PRESETS: {"tutorial": TutorialConfig, "default": JointConfig, "large": JointConfig with batch
             131,072 / softmax groups of 32 for millions of ratings} (model.py: frozen dataclasses);
    preset_for(n_ratings) -> "default" | "large" (LARGE_FROM = 2,000,000);
    resolve_config(preset, overrides) -> config
factors (numpy only):
    Factors(user_ids, movie_ids, user_vectors, movie_vectors, user_bias, movie_bias, head, metadata)
        .user_index(raw_id) -> int | None, .movie_index(raw_id) -> int | None,
        .user(index) -> UserVector, .predict_ratings(user: int | UserVector, movie_indexes) -> stars,
        .predict_ids(raw_user_ids, raw_movie_ids) -> stars (unknown ids fall back to biases),
        .users / .movies (IdIndex), .n_users, .n_movies, .dim, .rating_range
    UserVector(vector, bias, rating_vector)
    save_factors(factors, directory) -> Path (atomic; .npz plus a .json copy of the metadata)
    load_factors(path) -> Factors; raises ArtifactError on a missing/truncated/altered file
ranking (numpy only):
    recommend(factors, *, user_index=None, user_vector=None, n=10, exclude=None) -> (movie_indexes, scores)
    recommend_all(factors, *, n=100, exclude: csr_matrix | None, chunk_size=256, users=None,
                  threads=None, on_progress=None) -> int32 [n_users, n] (-1 pads short lists)
    fold_in(factors, movie_indexes, ratings) -> UserVector
similar (numpy + scikit-learn):
    similar_movies(factors, movie_index, n=10) -> (indexes, cosine)
    cluster_movies(factors, *, k=100, genres: dict[int, list[str]], titles: dict[int, str], seed=42) -> Clusters
    movie_map(factors, *, seed=42, max_movies=5000, iterations=1000) -> (indexes, float32 [n, 2])
    bias_table(factors, n=10) -> (top, bottom) lists of (movie_index, bias)
metrics: rmse, mae, top_n_metrics(recommended, relevant_csr, k=10) -> {precision, recall, ndcg, map, coverage}
ids: IdIndex (raw ids <-> contiguous indexes, numpy only), UnknownIdError
dataset (pandas): Ratings, encode(df), split_by_rating (protocol R), split_per_user (protocol T), interactions
evaluation (TensorFlow for model presets):
    evaluate(ratings, presets, *, seed=42, overrides: {preset: {field: value}} | None = None,
             on_progress: Callable[[str], None] | None = None, protocols=("R", "T"), ease=None) -> list[dict]
        rows: name, rmse, mae (R), precision, recall, ndcg, map, coverage (T), seconds; NaN where n/a
    format_table(rows) -> str
"""
