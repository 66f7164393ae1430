"""Movie-side views of the factors: nearest movies, clusters, a 2-D map, bias tables.

numpy, scikit-learn and openTSNE only (imported lazily where heavy): no TensorFlow.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from recommender.engine.factors import Factors

# How much a shared title word counts beside the vectors' cosine in similar_table: enough that
# sequels and other entries of a franchise sit next to each other.
TITLE_WEIGHT = 0.4
# Title words that number the entries of a series rather than name it.
_SERIES_WORDS = re.compile(
    r"\b(?:[ivx]+|\d+|part|vol|volume|chapter|episode|one|two|three|four|five|eleven|twelve|thirteen)\b"
)
_ARTICLE_AFTER = re.compile(r", (?:the|a|an|les|la|le|il|der|die|das|el)\b")
SIMILAR_MIN_RATINGS = 5  # fewer ratings than this: never offered as similar
KNOWN_QUANTILE = 0.75  # similar_table: titles count toward the movies above this quantile of rating counts
MIN_GENRE_SHARE = 0.2  # a genre names a cluster only if this share of its movies has it
PREVIOUS_MIN_SHARE = 0.5  # movie_map starts from an earlier map that holds at least this share of its movies
# movie_map: up to this many movies, Barnes-Hut gradients; more, FFT-interpolated ones (bench/README.md).
BH_MAX_MOVIES = 1000
_WORD = r"(?u)\b[^\W\d_]{2,}\b"  # two letters or more
_YEAR = re.compile(r"\s*\(\d{4}(?:-\d{4})?\)\s*$")


def similarity_vectors(factors: Factors) -> np.ndarray:
    """The vectors movie similarity is measured on, unit length, cached on the factors.

    The shared embedding and the star head's own movie vector side by side, each centred: the
    mean vector is a direction every popular movie shares, and left in it makes "similar" mean
    "popular at the same time".
    """
    cached = getattr(factors, "_unit_cache", None)
    if cached is None:
        parts = [factors.movie_vectors.astype(np.float32)]
        q = factors.head.get("movie_rating_vectors")
        if q is not None and np.size(q):
            parts.append(np.asarray(q, dtype=np.float32))
        v = np.hstack([p - p.mean(axis=0) if len(p) > 1 else p for p in parts])
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        cached = v / np.maximum(norms, 1e-12)
        factors._unit_cache = cached  # type: ignore[attr-defined]
    return cached


def _rarely_rated(factors: Factors) -> np.ndarray:
    """Movies never offered as similar: those with fewer than SIMILAR_MIN_RATINGS ratings (a vector
    from a rating or two says little, and a person wants films they can know), unless that would
    leave fewer than 20. An artefact without rating counts hides none."""
    counts = factors.head.get("movie_counts")
    if counts is None:
        return np.zeros(factors.n_movies, dtype=bool)
    hidden = np.asarray(counts) < SIMILAR_MIN_RATINGS
    return hidden if (~hidden).sum() > 20 else np.zeros(factors.n_movies, dtype=bool)


def _well_known(factors: Factors) -> np.ndarray:
    """The most rated quarter of the movies (all of them for an artefact without rating counts)."""
    counts = factors.head.get("movie_counts")
    if counts is None:
        return np.ones(factors.n_movies, dtype=bool)
    counts = np.asarray(counts)
    return counts >= np.quantile(counts, KNOWN_QUANTILE)


def similar_movies(factors: Factors, movie_index: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The n movies nearest to one movie by cosine of their vectors (the movie itself left out).

    Args:
        factors: the factors.
        movie_index: the movie's row.
        n: how many.

    Returns:
        (movie_indexes int32 [n], cosine float32 [n]), most similar first.
    """
    unit = similarity_vectors(factors)
    cos = unit @ unit[movie_index]
    cos[_rarely_rated(factors)] = -np.inf
    cos[movie_index] = -np.inf
    n = min(n, len(cos) - 1)
    if n <= 0:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    part = np.argpartition(-cos, n - 1)[:n]
    order = np.lexsort((part, -cos[part]))
    top = part[order]
    return top.astype(np.int32), cos[top].astype(np.float32)


def title_words(title: str) -> str:
    """A title's words that name it, lower case: no year, no trailing article, no series numbers.

    "Godfather: Part II, The (1974)" and "Godfather, The (1972)" both keep only "godfather".
    """
    s = _YEAR.sub("", title).lower().replace("a.k.a.", " ")
    return _SERIES_WORDS.sub(" ", _ARTICLE_AFTER.sub("", s))


def similar_table(
    factors: Factors, titles: dict[int, str], *, n: int = 20, title_weight: float = TITLE_WEIGHT, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Every movie's n most similar movies: the vectors' cosine plus title_weight times the cosine of
    their titles' words (TF-IDF), so a rare word two titles share ("Shrek", "Bourne") counts and a
    common one ("Love") barely does; the title counts only toward well-known movies.

    Args:
        factors: the factors.
        titles: raw movie id -> title (movies without one match by their vectors only).
        n: neighbours per movie.
        title_weight: the weight of the title cosine.
        chunk: movies per block of the product (memory: chunk x n_movies floats).

    Returns:
        (int32 [n_movies, n] movie indexes, float32 [n_movies, n] similarity), most similar first.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    unit = similarity_vectors(factors)
    m = factors.n_movies
    n = min(n, m - 1)
    words = [title_words(titles.get(int(raw), "")) for raw in factors.movie_ids]
    try:
        tfidf = TfidfVectorizer(
            token_pattern=_WORD, stop_words="english", sublinear_tf=True, dtype=np.float32
        ).fit_transform(words)
    except ValueError:  # no title has a word left
        tfidf = None
    # A shared title word counts only toward movies people know (the most rated quarter):
    # "Kid's Story" shares a word with "Toy Story", and nobody looking at one means the other.
    known = _well_known(factors)[None, :]
    hidden = _rarely_rated(factors)
    out = np.zeros((m, max(n, 0)), dtype=np.int32)
    sims = np.zeros((m, max(n, 0)), dtype=np.float32)
    if n <= 0:
        return out, sims
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        s = unit[start:stop] @ unit.T
        if tfidf is not None:
            s += title_weight * (tfidf[start:stop] @ tfidf.T).toarray() * known
        s[:, hidden] = -np.inf
        s[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        part = np.argpartition(-s, n - 1, axis=1)[:, :n]
        vals = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        out[start:stop] = np.take_along_axis(part, order, axis=1)
        sims[start:stop] = np.take_along_axis(vals, order, axis=1)
    return out, sims


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


def _cluster_space(unit: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The similarity vectors as clustered: centred on the clustered movies' own mean, unit length.

    similarity_vectors centres on every movie, most of them rarely rated. The mean of the well-known
    ones is what they share, being watched and when: left in, KMeans grouped films of the same years
    (The Matrix with Fight Club and American Beauty, as "Crime / Drama"), not films of one kind.
    """
    x = unit - unit[core].mean(axis=0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cluster_movies(
    factors: Factors,
    *,
    k: int = 100,
    genres: dict[int, list[str]] | None = None,
    titles: dict[int, str] | None = None,
    counts: dict[int, int] | None = None,
    min_ratings: int = 10,
    seed: int = 42,
    n_titles: int = 5,
) -> Clusters:
    """KMeans clusters of the movie vectors (similarity_vectors), each named by genres and titles.

    Steps:
        1. Only movies with at least min_ratings ratings are clustered: the vectors of movies
           rated a few times say little. The others join the cluster of the nearest centre.
           The vectors are centred on the clustered movies (_cluster_space).
        2. A cluster's genres are those over-represented in it: ranked by lift (their share in the
           cluster over their share in the catalogue) among those of MIN_GENRE_SHARE of it or more.
        3. Its titles are the best-known (most rated) of its clustered movies nearest the centre.
        4. Its name: the two first genres and the best-known title.

    Args:
        factors: the factors.
        k: clusters (capped at the number of clustered movies).
        genres: raw movie id -> genre names.
        titles: raw movie id -> title.
        counts: raw movie id -> number of ratings (None: every movie is clustered).
        min_ratings: the fewest ratings of a clustered movie (fewer than k such movies: all are).
        seed: KMeans seed.
        n_titles: titles kept per cluster.

    Returns:
        Clusters.
    """
    from sklearn.cluster import KMeans

    genres = genres or {}
    titles = titles or {}
    unit = similarity_vectors(factors)
    raw = factors.movie_ids
    rated = np.array([(counts or {}).get(int(m), 0) for m in raw], dtype=np.int64)
    core = np.flatnonzero(rated >= min_ratings) if counts is not None else np.arange(len(raw))
    k = max(1, min(k, len(unit)))
    if len(core) < k:
        core = np.arange(len(raw))
    space = _cluster_space(unit, core)
    km = KMeans(n_clusters=k, random_state=seed, n_init=1).fit(space[core])
    centres = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12)
    labels = np.argmax(space @ centres.T, axis=1).astype(np.int32)
    labels[core] = km.labels_
    in_core = np.zeros(len(raw), dtype=bool)
    in_core[core] = True
    overall = Counter(g for m in raw for g in genres.get(int(m), []))
    total = max(len(raw), 1)

    def _over_represented(counted: Counter, size: int) -> list[tuple[str, float]]:
        # By lift (share in the cluster over share in the catalogue) among the genres of at least
        # MIN_GENRE_SHARE of the cluster: what sets it apart, not what every cluster has.
        shares = {g: c / size for g, c in counted.items()}
        lifts = {g: share / (overall[g] / total) for g, share in shares.items()}
        common = [g for g, share in shares.items() if share >= MIN_GENRE_SHARE and lifts[g] > 1]
        ranked = sorted(common, key=lambda g: (-lifts[g], -shares[g], g))
        return [(g, shares[g]) for g in ranked[:3]]

    out = []
    for label in range(k):
        members = np.flatnonzero(labels == label)
        if len(members) == 0:
            continue
        # Named by its clustered movies: the ones that joined it by nearness say less about it.
        named_by = members[in_core[members]] if in_core[members].any() else members
        counted = Counter(g for m in raw[named_by] for g in genres.get(int(m), []))
        top_genres = _over_represented(counted, len(named_by))
        top_genres = [(g, round(share, 3)) for g, share in top_genres]
        typical = best_known_near_centre(members[in_core[members]], space, centres[label], rated)
        top_titles = [titles[int(raw[i])] for i in typical if int(raw[i]) in titles][:n_titles]
        name_parts = [g for g, _ in top_genres[:2]] or [f"cluster {label}"]
        name = " / ".join(name_parts) + (f": {top_titles[0]}" if top_titles else "")
        out.append(Cluster(label, name, top_genres, top_titles, members.astype(np.int32)))
    out.sort(key=lambda c: -len(c.movie_indexes))
    return Clusters(labels, out)


def best_known_near_centre(members: np.ndarray, unit: np.ndarray, centre: np.ndarray, rated: np.ndarray) -> np.ndarray:
    """The nearer half of the members to the centre (at least 5), most rated first."""
    if len(members) == 0:
        return members
    near = members[np.argsort(-(unit[members] @ centre), kind="stable")][: max(5, len(members) // 2)]
    return near[np.argsort(-rated[near], kind="stable")]


def movie_map(
    factors: Factors,
    *,
    seed: int = 42,
    max_movies: int = 5000,
    iterations: int = 750,
    previous: dict[int, tuple[float, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D t-SNE map of the movie vectors (openTSNE; FFT-accelerated gradients past BH_MAX_MOVIES).

    t-SNE costs O(n log n) with a large constant: past max_movies, the movies with the
    largest ranking bias (the most chosen) are mapped, which are the ones people know.
    With `previous` (an earlier version's map) covering most of these movies, the map starts
    from its positions and skips early exaggeration, the phase that arranges the clusters from
    scratch: points stay about where people saw them, in a third of the steps (movies new to
    the map start beside their nearest mapped neighbour).

    Args:
        factors: the factors.
        seed: t-SNE seed.
        max_movies: the most movies mapped.
        iterations: t-SNE optimisation steps from scratch (at least 250; a third of them from `previous`).
        previous: raw movie id -> (x, y) of an earlier map, any scale.

    Returns:
        (movie_indexes int32 [n], coordinates float32 [n, 2]).
    """
    from openTSNE import TSNE

    n = factors.n_movies
    idx = (
        np.arange(n) if n <= max_movies else np.sort(np.argpartition(-factors.movie_bias, max_movies - 1)[:max_movies])
    )
    unit = similarity_vectors(factors)[idx]
    if len(idx) < 4:
        return idx.astype(np.int32), np.zeros((len(idx), 2), np.float32)
    perplexity = float(min(30.0, max(2.0, (len(idx) - 1) / 3)))
    start = _start_from(previous or {}, factors.movie_ids[idx], unit, seed)
    steps = {"early_exaggeration_iter": max(iterations // 4, 50), "n_iter": max(iterations - iterations // 4, 200)}
    if start is not None:
        steps = {"early_exaggeration_iter": 0, "n_iter": max(iterations // 3, 200)}
    xy = TSNE(
        perplexity=perplexity,
        metric="cosine",
        initialization=start if start is not None else "pca",
        # FFT's interpolation grid costs the same per step for 40 movies as for thousands.
        negative_gradient_method="bh" if len(idx) <= BH_MAX_MOVIES else "fft",
        n_jobs=1,  # threads of its own only wait for each other on a busy 2-core machine
        random_state=seed,
        **steps,
    ).fit(unit)
    return idx.astype(np.int32), np.asarray(xy, dtype=np.float32)


def _start_from(
    previous: dict[int, tuple[float, float]], movie_ids: np.ndarray, unit: np.ndarray, seed: int
) -> np.ndarray | None:
    """Starting positions from an earlier map, or None when it holds under PREVIOUS_MIN_SHARE of the movies.

    Movies it lacks start beside their most similar movie it has. The positions are centred and
    scaled to t-SNE's usual starting spread (a standard deviation of 1e-4 on the first axis).
    """
    known = np.array([int(m) in previous for m in movie_ids])
    if known.mean() < PREVIOUS_MIN_SHARE:
        return None
    xy = np.zeros((len(movie_ids), 2), np.float64)
    xy[known] = [previous[int(m)] for m in movie_ids[known]]
    new = np.flatnonzero(~known)
    if len(new):
        nearest = np.flatnonzero(known)[np.argmax(unit[new] @ unit[known].T, axis=1)]
        spread = xy[known].std(axis=0) * 0.01
        xy[new] = xy[nearest] + np.random.default_rng(seed).normal(0, 1, (len(new), 2)) * spread
    xy -= xy.mean(axis=0)
    return xy / max(float(xy[:, 0].std()), 1e-12) * 1e-4


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
