import numpy as np

from recommender.engine.similar import bias_table, cluster_movies, movie_map, similar_movies


def test_similar_movies_are_the_nearest_by_cosine(factors):
    v = factors.movie_vectors / np.linalg.norm(factors.movie_vectors, axis=1, keepdims=True)
    cos = v @ v[3]
    cos[3] = -np.inf
    idx, got = similar_movies(factors, 3, n=5)
    assert idx.tolist() == np.argsort(-cos)[:5].tolist()
    np.testing.assert_allclose(got, np.sort(cos)[::-1][:5], rtol=1e-5)


def test_clusters_are_named_by_their_typical_genres_and_titles(factors):
    # Give movies with a positive first coordinate the genre "Horror": it should name their clusters.
    genres = {
        int(m): (["Horror"] if factors.movie_vectors[i, 0] > 1 else ["Drama"]) for i, m in enumerate(factors.movie_ids)
    }
    titles = {int(m): f"Movie {m}" for m in factors.movie_ids}
    result = cluster_movies(factors, k=8, genres=genres, titles=titles, seed=1)
    assert result.labels.shape == (factors.n_movies,)
    assert sum(len(c.movie_indexes) for c in result.clusters) == factors.n_movies
    assert all(c.titles and c.name for c in result.clusters)
    assert any(c.name.startswith("Horror") for c in result.clusters)


def test_movie_map_and_bias_tables(factors):
    idx, xy = movie_map(factors, seed=0, max_movies=80, iterations=250)
    assert xy.shape == (80, 2) and len(set(idx.tolist())) == 80
    top, bottom = bias_table(factors, n=3)
    b = factors.head["movie_bias"]
    assert [i for i, _ in top] == np.argsort(-b)[:3].tolist()
    assert [i for i, _ in bottom] == np.argsort(b)[:3].tolist()
