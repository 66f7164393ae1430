"""The "explore" data of a model version: movie map (t-SNE), clusters, biases.

t-SNE over thousands of movies takes seconds, so it is computed once per
version in the training process (right after the factors are saved) and written as
explore.json beside the factors. Pages only read that file, cached per process per
version; a version without the file is shown as "not computed yet", never computed
inside a request.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movies.models import Movie
from recommender.engine.factors import Factors, load_factors
from recommender.engine.similar import bias_table, cluster_movies, movie_map, similar_table
from recommender.models import ModelVersion
from recommender.services.factors_cache import active_factors

log = logging.getLogger(__name__)

FILENAME = "explore.json"
MAP_MAX_MOVIES = 5000
BIAS_ROWS = 30
CLUSTER_MIN_RATINGS = 10
SIMILAR_KEPT = 20  # neighbours kept per movie (pages show 10)
_FORMAT = 1


@dataclass
class ExploreCluster:
    label: int
    name: str
    genres: list[tuple[str, float]]
    titles: list[str]
    movie_ids: list[int]


@dataclass
class Explore:
    """What the explore pages show for one version (read-only once loaded)."""

    version_id: int
    points: list[tuple[int, float, float, int]]  # (movie id, x, y, cluster label)
    clusters: list[ExploreCluster]
    likes: list[tuple[int, float]]  # (movie id, bias), largest first
    dislikes: list[tuple[int, float]]  # (movie id, bias), smallest first
    created: float = 0.0
    similar: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # movie id -> (id, similarity)
    cluster_of: dict[int, int] = field(default_factory=dict)
    by_label: dict[int, ExploreCluster] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Built once at load so a movie page finds its cluster without a scan.
        self.by_label = {c.label: c for c in self.clusters}
        self.cluster_of = {m: c.label for c in self.clusters for m in c.movie_ids}


def _directory(artifact_path: str | Path) -> Path:
    # artifact_path names the version's directory; accept a file inside it too.
    p = Path(artifact_path)
    return p if p.is_dir() else p.parent


def cluster_count(n_movies: int) -> int:
    """About 20 movies per cluster, at most 100 clusters, at least 1."""
    return max(1, min(100, n_movies // 20))


def cluster_min_ratings(counts: dict[int, int]) -> int:
    """The fewest ratings of a clustered movie: 10, or fewer on a catalogue with few such movies.

    A movie's vector says something once a few people rated it; on a small or young catalogue
    the bar drops so that at least a third of the movies are still clustered.
    """
    values = sorted(counts.values(), reverse=True)
    if not values:
        return 0
    return max(1, min(CLUSTER_MIN_RATINGS, values[len(values) // 3]))


def explore_compute(*, factors: Factors, version_id: int, seed: int = 42) -> dict[str, Any]:
    """The explore data of these factors as a JSON-able dict.

    1. Read titles and genres of the factors' movies (two queries).
    2. KMeans clusters of the movies rated enough, named by genres and best-known titles;
       the other movies join the nearest cluster.
    3. Every movie's most similar movies (vectors and shared title words).
    4. t-SNE map of up to MAP_MAX_MOVIES movies (the most chosen ones past that), started from
       the previous version's map when there is one.
    5. The largest and smallest movie biases.
    """
    ids = [int(m) for m in factors.movie_ids]
    titles: dict[int, str] = {}
    genres: dict[int, list[str]] = {}
    counts: dict[int, int] = {}
    rows = Movie.objects.filter(pk__in=ids).values_list("pk", "title", "year", "ratings_count")
    for pk, title, year, count in rows.iterator(chunk_size=5000):
        titles[pk] = f"{title} ({year})" if year else title
        counts[pk] = count
    through = Movie.genres.through.objects.filter(movie_id__in=ids).values_list("movie_id", "genre__name")
    for pk, name in through.iterator(chunk_size=5000):
        genres.setdefault(pk, []).append(name)
    min_ratings = cluster_min_ratings(counts)
    clustered = sum(1 for c in counts.values() if c >= min_ratings)
    clusters = cluster_movies(
        factors,
        k=cluster_count(clustered),
        genres=genres,
        titles=titles,
        counts=counts,
        min_ratings=min_ratings,
        seed=seed,
    )
    neighbours, similarity = similar_table(factors, titles, n=SIMILAR_KEPT)
    # A few hundred movies settle in 250 steps (t-SNE's minimum); every test that trains
    # a tiny world pays for this, so only real catalogues get openTSNE's full 750.
    iterations = 750 if factors.n_movies >= 200 else 250
    indexes, xy = movie_map(
        factors, seed=seed, max_movies=MAP_MAX_MOVIES, iterations=iterations, previous=_previous_map(version_id)
    )
    # Scale the map into [0, 1] both ways so the browser needs no bounds pass.
    if len(xy):
        lo = xy.min(axis=0)
        span = np.maximum(xy.max(axis=0) - lo, 1e-9)
        xy = (xy - lo) / span
    top, bottom = bias_table(factors, n=BIAS_ROWS)
    movie_ids = factors.movie_ids
    return {
        "format": _FORMAT,
        "version": version_id,
        "created": time.time(),
        "points": [
            [int(movie_ids[i]), round(float(x), 4), round(float(y), 4), int(clusters.labels[i])]
            for i, (x, y) in zip(indexes, xy, strict=True)
        ],
        "clusters": [
            {
                "label": c.label,
                "name": c.name,
                "genres": [[g, s] for g, s in c.genres],
                "titles": c.titles,
                "movie_ids": [int(movie_ids[i]) for i in c.movie_indexes],
            }
            for c in clusters.clusters
        ],
        "similar": [
            [int(movie_ids[i]), [[int(movie_ids[j]), round(float(v), 4)] for j, v in zip(row, vals, strict=True)]]
            for i, (row, vals) in enumerate(zip(neighbours, similarity, strict=True))
        ],
        "likes": [[int(movie_ids[i]), round(b, 4)] for i, b in top],
        "dislikes": [[int(movie_ids[i]), round(b, 4)] for i, b in bottom],
    }


def _previous_map(version_id: int) -> dict[int, tuple[float, float]]:
    """The live version's map (else the newest other version's with one): movie id -> (x, y).

    A new version's map starts from it, so that movies stay about where people saw them.
    """
    paths = (
        ModelVersion.objects.exclude(pk=version_id)
        .exclude(artifact_path="")
        .order_by("-is_active", "-pk")
        .values_list("artifact_path", flat=True)[:3]
    )
    for path in paths:
        try:
            with (_directory(path) / FILENAME).open(encoding="utf-8") as fh:
                points = json.load(fh)["points"]
            return {int(m): (float(x), float(y)) for m, x, y, _ in points}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return {}


def explore_write(*, data: dict[str, Any], directory: str | Path) -> Path:
    """Write explore.json atomically (temp file + rename), so readers never see half a file."""
    target = _directory(directory) / FILENAME
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".explore-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def explore_build(*, factors: Factors, directory: str | Path, version_id: int) -> Path:
    """Compute and write one version's explore file."""
    return explore_write(data=explore_compute(factors=factors, version_id=version_id), directory=directory)


def explore_build_quietly(*, factors: Factors, directory: str | Path, version_id: int) -> Path | None:
    """explore_build for train_version: a failure is logged, never fails the training.

    The version is still good for picks without its map; explore_refresh can redo it.
    """
    try:
        return explore_build(factors=factors, directory=directory, version_id=version_id)
    except Exception:
        log.exception("explore data for v%s failed; run manage.py explore_refresh --version %s", version_id, version_id)
        return None


def explore_refresh(*, version: ModelVersion) -> Path:
    """(Re)compute the explore file of an existing version from its saved factors."""
    if not version.artifact_path:
        raise ValueError(f"v{version.pk} has no saved factors")
    factors = load_factors(Path(version.artifact_path))
    path = explore_build(factors=factors, directory=version.artifact_path, version_id=version.pk)
    forget()
    return path


# --- reading, cached per process per version -------------------------------------------

_KEEP = 2
_loaded: dict[int, Explore] = {}
_lock = threading.Lock()


def _parse(version_id: int, data: dict[str, Any]) -> Explore:
    return Explore(
        version_id=version_id,
        points=[(int(m), float(x), float(y), int(c)) for m, x, y, c in data["points"]],
        clusters=[
            ExploreCluster(
                label=int(c["label"]),
                name=c["name"],
                genres=[(g, float(s)) for g, s in c["genres"]],
                titles=list(c["titles"]),
                movie_ids=[int(m) for m in c["movie_ids"]],
            )
            for c in data["clusters"]
        ],
        likes=[(int(m), float(b)) for m, b in data["likes"]],
        dislikes=[(int(m), float(b)) for m, b in data["dislikes"]],
        created=float(data.get("created", 0.0)),
        similar={int(m): [(int(o), float(v)) for o, v in row] for m, row in data.get("similar", [])},
    )


def explore_for(*, version_id: int, artifact_path: str | Path) -> Explore | None:
    """The version's explore data, or None when it has not been computed (or is unreadable)."""
    with _lock:
        cached = _loaded.get(version_id)
    if cached is not None:
        return cached
    path = _directory(artifact_path) / FILENAME
    try:
        with path.open(encoding="utf-8") as fh:
            explore = _parse(version_id, json.load(fh))
    except FileNotFoundError:
        # Not cached: the training process may write it a moment later.
        return None
    except (ValueError, KeyError, TypeError):
        log.exception("explore file %s is unreadable", path)
        return None
    with _lock:
        while len(_loaded) >= _KEEP:
            _loaded.pop(next(iter(_loaded)))
        _loaded[version_id] = explore
    return explore


def active_explore() -> Explore | None:
    """The active version's explore data (None without an active version or its file)."""
    active = active_factors()
    if active is None:
        return None
    version_id, _ = active
    with _lock:
        cached = _loaded.get(version_id)
    if cached is not None:
        return cached
    path = ModelVersion.objects.filter(pk=version_id).values_list("artifact_path", flat=True).first()
    if not path:
        return None
    return explore_for(version_id=version_id, artifact_path=path)


def forget() -> None:
    """Drop what this process holds (tests, and after a refresh in this process)."""
    with _lock:
        _loaded.clear()
