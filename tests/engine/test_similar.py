"""Similar movies, clusters and their names, the movie map and the bias tables."""

import numpy as np

from recommender.engine.similar import (
    _start_from,
    bias_table,
    cluster_movies,
    movie_map,
    similar_movies,
    similar_table,
    similarity_vectors,
    title_words,
)


def _centred_unit(factors):
    parts = [factors.movie_vectors, factors.head["movie_rating_vectors"]]
    v = np.hstack([p - p.mean(axis=0) for p in parts])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_similar_movies_are_the_nearest_by_cosine_of_the_centred_vectors(factors):
    v = _centred_unit(factors)
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


def _unit_square(xy):
    lo = xy.min(axis=0)
    return (xy - lo) / (xy.max(axis=0) - lo)


def test_a_map_started_from_the_previous_one_keeps_the_movies_about_where_they_were(factors):
    idx, xy = movie_map(factors, seed=0, max_movies=80, iterations=250)
    before = _unit_square(xy)
    # The previous map, mirrored: a map from scratch would not know which way round it was.
    previous = {int(factors.movie_ids[i]): (1 - x, y) for i, (x, y) in zip(idx, before, strict=True)}
    mirrored = np.c_[1 - before[:, 0], before[:, 1]]
    idx2, xy2 = movie_map(factors, seed=1, max_movies=80, iterations=250, previous=previous)
    assert idx2.tolist() == idx.tolist()
    kept = np.median(np.linalg.norm(_unit_square(xy2) - mirrored, axis=1))
    _, scratch = movie_map(factors, seed=1, max_movies=80, iterations=250)
    anew = np.median(np.linalg.norm(_unit_square(scratch) - mirrored, axis=1))
    assert kept < anew / 2


def test_a_movie_new_to_the_map_starts_beside_its_most_similar_mapped_movie(factors):
    unit = similarity_vectors(factors)
    ids = factors.movie_ids
    previous = {int(m): (float(i), float(i % 7)) for i, m in enumerate(ids) if i != 4}
    start = _start_from(previous, ids, unit, seed=0)
    cos = unit @ unit[4]
    cos[4] = -np.inf
    nearest = int(np.argmax(cos))
    gaps = np.linalg.norm(start - start[4], axis=1)
    gaps[4] = np.inf
    assert int(np.argmin(gaps)) == nearest
    assert _start_from({}, ids, unit, seed=0) is None  # nothing to start from: t-SNE's own start


def test_title_words_keep_what_names_a_series_and_drop_its_numbers():
    assert title_words("Godfather: Part II, The (1974)").split() == ["godfather:"]
    assert title_words("Godfather, The (1972)").split() == ["godfather"]
    assert title_words("Toy Story 3 (2010)").split() == ["toy", "story"]


def test_the_similar_table_puts_entries_of_a_series_next_to_each_other(factors):
    titles = {int(m): f"Film {i} of nothing" for i, m in enumerate(factors.movie_ids)}
    a, b, obscure = (int(factors.movie_ids[i]) for i in (5, 70, 9))
    titles[a], titles[b], titles[obscure] = "Shrekoid (2001)", "Shrekoid 2 (2004)", "Shrekoid Forever (2010)"
    counts = np.full(factors.n_movies, 6, dtype=np.int32)
    counts[[5, 70]] = 500  # well known
    counts[9] = 1  # rated once: never offered as similar
    factors.head["movie_counts"] = counts
    # A title weight above the widest gap of two cosines: the shared title must win.
    neighbours, sims = similar_table(factors, titles, n=10, title_weight=2.5)
    assert neighbours.shape == (factors.n_movies, 10)
    assert neighbours[5, 0] == 70 and neighbours[70, 0] == 5
    assert not (neighbours == 9).any()
    assert (np.diff(sims, axis=1) <= 1e-6).all()
    assert not (neighbours == np.arange(factors.n_movies)[:, None]).any()
    vectors_only, _ = similar_table(factors, {}, n=10)
    assert vectors_only[3].tolist() == similar_movies(factors, 3, n=10)[0].tolist()


def test_only_movies_rated_enough_are_clustered_and_names_use_the_best_known_titles(factors):
    counts = {int(m): (50 + i if i % 2 == 0 else 2) for i, m in enumerate(factors.movie_ids)}
    titles = {int(m): f"Movie {m}" for m in factors.movie_ids}
    result = cluster_movies(factors, k=5, titles=titles, counts=counts, min_ratings=10, seed=1)
    assert sum(len(c.movie_indexes) for c in result.clusters) == factors.n_movies
    for cluster in result.clusters:
        rated = {t for t in cluster.titles}
        # Named and described only by clustered (well-rated) movies, best known first.
        assert all(counts[int(t.split()[1])] >= 10 for t in rated)
        shown = [counts[int(t.split()[1])] for t in cluster.titles]
        assert shown == sorted(shown, reverse=True)
    # A rarely rated movie joins the cluster whose centre is nearest.
    assert set(np.unique(result.labels[1::2])) <= {c.label for c in result.clusters}
