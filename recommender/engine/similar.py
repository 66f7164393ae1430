"""Movie-side views of the factors: nearest movies, clusters, a 2-D map, bias tables.

numpy and scikit-learn only (imported lazily where heavy): no TensorFlow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from recommender.engine.factors import Factors


def _unit_vectors(factors: Factors) -> np.ndarray:
    """Movie vectors scaled to unit length, cached on the factors (cosine = dot product)."""
    cached = getattr(factors, "_unit_cache", None)
    if cached is None:
        v = factors.movie_vectors.astype(np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        cached = v / np.maximum(norms, 1e-12)
        factors._unit_cache = cached  # type: ignore[attr-defined]
    return cached


def similar_movies(factors: Factors, movie_index: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The n movies nearest to one movie by cosine of their vectors (the movie itself left out).

    Args:
        factors: the factors.
        movie_index: the movie's row.
        n: how many.

    Returns:
        (movie_indexes int32 [n], cosine float32 [n]), most similar first.
    """
    unit = _unit_vectors(factors)
    cos = unit @ unit[movie_index]
    cos[movie_index] = -np.inf
    n = min(n, len(cos) - 1)
    if n <= 0:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    part = np.argpartition(-cos, n - 1)[:n]
    order = np.lexsort((part, -cos[part]))
    top = part[order]
    return top.astype(np.int32), cos[top].astype(np.float32)


@dataclass
class Cluster:
    """One KMeans cluster of movies with a human name.

    Attributes:
        label: cluster number.
        name: its two most over-represented genres and its most typical title.
        genres: top genres with their share in the cluster.
        titles: the titles nearest the centre (most typical first).
        movie_indexes: every member.
    """

    label: int
    name: str
    genres: list[tuple[str, float]] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    movie_indexes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))


@dataclass
class Clusters:
    """KMeans over the movie vectors.

    Attributes:
        labels: cluster per movie index, int32 [n_movies].
        clusters: one Cluster per label, largest first.
    """

    labels: np.ndarray
    clusters: list[Cluster]


def cluster_movies(
    factors: Factors,
    *,
    k: int = 100,
    genres: dict[int, list[str]] | None = None,
    titles: dict[int, str] | None = None,
    seed: int = 42,
    n_titles: int = 5,
) -> Clusters:
    """KMeans clusters of the (unit-length) movie vectors, each named by genres and titles.

    A cluster's genres are ranked by lift: their share in the cluster over their share in
    the catalogue, weighted by the share, so "Drama" does not name every cluster.

    Args:
        factors: the factors.
        k: clusters (capped at the number of movies).
        genres: raw movie id -> genre names.
        titles: raw movie id -> title.
        seed: KMeans seed.
        n_titles: typical titles kept per cluster.

    Returns:
        Clusters.
    """
    from sklearn.cluster import KMeans

    genres = genres or {}
    titles = titles or {}
    unit = _unit_vectors(factors)
    k = max(1, min(k, len(unit)))
    km = KMeans(n_clusters=k, random_state=seed, n_init=1).fit(unit)
    labels = km.labels_.astype(np.int32)
    raw = factors.movie_ids
    overall = Counter(g for m in raw for g in genres.get(int(m), []))
    total = max(len(raw), 1)
    out = []
    for label in range(k):
        members = np.flatnonzero(labels == label)
        if len(members) == 0:
            continue
        dist = np.linalg.norm(unit[members] - km.cluster_centers_[label], axis=1)
        typical = members[np.argsort(dist)]
        counts = Counter(g for m in raw[members] for g in genres.get(int(m), []))
        scored = []
        for g, c in counts.items():
            share = c / len(members)
            lift = share / (overall[g] / total)
            scored.append((share * lift, g, share))
        scored.sort(reverse=True)
        top_genres = [(g, round(share, 3)) for _, g, share in scored[:3]]
        top_titles = [titles[int(raw[i])] for i in typical[:n_titles] if int(raw[i]) in titles]
        name_parts = [g for g, _ in top_genres[:2]] or [f"cluster {label}"]
        name = " / ".join(name_parts) + (f": {top_titles[0]}" if top_titles else "")
        out.append(Cluster(label, name, top_genres, top_titles, members.astype(np.int32)))
    out.sort(key=lambda c: -len(c.movie_indexes))
    return Clusters(labels, out)


def movie_map(
    factors: Factors, *, seed: int = 42, max_movies: int = 5000, iterations: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D t-SNE map of the movie vectors.

    t-SNE costs O(n log n) with a large constant: past max_movies, the movies with the
    largest ranking bias (the most chosen) are mapped, which are the ones people know.

    Args:
        factors: the factors.
        seed: t-SNE seed.
        max_movies: the most movies mapped.
        iterations: t-SNE optimisation steps (at least 250).

    Returns:
        (movie_indexes int32 [n], coordinates float32 [n, 2]).
    """
    from sklearn.manifold import TSNE

    n = factors.n_movies
    idx = (
        np.arange(n) if n <= max_movies else np.sort(np.argpartition(-factors.movie_bias, max_movies - 1)[:max_movies])
    )
    unit = _unit_vectors(factors)[idx]
    if len(idx) < 4:
        return idx.astype(np.int32), np.zeros((len(idx), 2), np.float32)
    perplexity = float(min(30.0, max(2.0, (len(idx) - 1) / 3)))
    xy = TSNE(
        n_components=2, perplexity=perplexity, random_state=seed, init="pca", metric="cosine", max_iter=iterations
    ).fit_transform(unit)
    return idx.astype(np.int32), xy.astype(np.float32)


def bias_table(factors: Factors, n: int = 10) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """Movies with the largest and smallest rating-head bias (liked or disliked beyond their vectors).

    Args:
        factors: the factors.
        n: rows per table.

    Returns:
        (top, bottom): lists of (movie_index, bias), top descending, bottom ascending.
    """
    b = np.asarray(factors.head.get("movie_bias", factors.movie_bias), dtype=np.float64)
    order = np.argsort(b, kind="stable")
    bottom = [(int(i), float(b[i])) for i in order[:n]]
    top = [(int(i), float(b[i])) for i in order[::-1][:n]]
    return top, bottom
