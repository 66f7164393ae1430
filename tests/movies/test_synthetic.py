"""The synthetic ML-25M-shaped generator: shape, uniqueness, determinism, learnable taste."""

import numpy as np

from movies.importers import detect_layout, iter_ratings, iter_tags, open_source, read_links, read_movies
from movies.synthetic import Shape, synthetic_ratings, write_movielens, write_movielens_sample


def test_it_keeps_the_ml25m_shape_at_full_scale():
    assert Shape.at(1.0) == Shape(users=162_541, movies=59_047, ratings=25_000_095, tags=1_093_360)


def test_it_writes_a_folder_the_importer_reads_and_the_arrays_match(tmp_path):
    shape = write_movielens(tmp_path / "ml", scale=0.004, seed=7)
    with open_source(tmp_path / "ml") as source:
        layout = detect_layout(source)
        movies = read_movies(source, layout)
        ids = np.array(sorted(m.id for m in movies))
        assert len(read_links(source, layout, ids)) == shape.movies == len(movies)
        chunks = list(iter_ratings(source, layout, ids))
        tags = [row for chunk in iter_tags(source, layout, ids) for row in chunk.rows]
    user = np.concatenate([c.user for c in chunks])
    movie = np.concatenate([c.movie for c in chunks])
    assert len(user) == shape.ratings and len(tags) == shape.tags > 0
    arrays = synthetic_ratings(scale=0.004, seed=7)
    assert np.array_equal(arrays.user, user) and np.array_equal(arrays.movie, movie)
    assert len(np.unique(user.astype(np.int64) << 32 | movie)) == len(user)  # one rating per pair
    assert np.bincount(user)[1:].min() >= 20
    assert len(np.unique(user)) == shape.users


def test_it_is_skewed_deterministic_and_learnable():
    a = synthetic_ratings(scale=0.01, seed=1)
    b = synthetic_ratings(scale=0.01, seed=1)
    assert np.array_equal(a.rating, b.rating)
    assert set(np.unique(a.rating * 2).astype(int)) <= set(range(1, 11))
    per_movie = np.sort(np.bincount(a.movie)[np.unique(a.movie)])[::-1]
    # The top 10% of movies get over twice their share (tiny scales are dense, so the skew is milder).
    assert per_movie[: len(per_movie) // 10].sum() > 0.2 * per_movie.sum()
    per_user = np.bincount(a.user)[1:]
    assert per_user.max() > 5 * np.median(per_user)  # heavy-tailed activity
    # Movie means learnt on half the ratings predict the other half better than the global mean.
    rng = np.random.default_rng(0)
    train = rng.random(len(a.rating)) < 0.5
    sums = np.bincount(a.movie[train], weights=a.rating[train], minlength=a.movie.max() + 1)
    counts = np.bincount(a.movie[train], minlength=a.movie.max() + 1)
    mean = a.rating[train].mean()
    movie_mean = (sums + 5 * mean) / (counts + 5)
    test = ~train
    baseline = np.sqrt(np.mean((a.rating[test] - mean) ** 2))
    learnt = np.sqrt(np.mean((a.rating[test] - movie_mean[a.movie[test]]) ** 2))
    assert learnt < 0.95 * baseline


def test_it_writes_a_small_sample_for_make_run(tmp_path):
    folder = write_movielens_sample(tmp_path / "sample", scale=0.002, seed=0)
    assert sorted(p.name for p in folder.iterdir()) == ["links.csv", "movies.csv", "ratings.csv", "tags.csv"]
