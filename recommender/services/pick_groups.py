"""The groups of movies a new user picks among at onboarding (MovieLens' pick-groups step).

A group is a KMeans cluster of the active version (the explore data) that holds enough well-known
movies, shown by the cluster's readable name and its best-known movies near its centre: a person
recognises a taste by movies they have heard of. The groups are the same for everybody under a
version, so they are kept in the cache per version (ratings counts move slowly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from movies.models import Movie
from recommender import cache_keys
from recommender.engine.similar import best_known_near_centre, similarity_vectors
from recommender.services.explore import ExploreCluster, active_explore
from recommender.services.factors_cache import active_factors

# The catalogue's most rated movies count as well known; a group shows GROUP_MOVIES of them and
# needs at least GROUP_MIN_MOVIES. A choice of the group stands for up to GROUP_EVIDENCE of them:
# five movies describe a taste less surely than ten.
WELL_KNOWN = 1000
GROUP_MOVIES = 5
GROUP_MIN_MOVIES = 4
GROUP_EVIDENCE = 10
GROUPS_SHOWN = 10
GROUPS_FEWEST = 2  # one group is no choice
GROUPS_SECONDS = 600
# MovieLens genres that say how a movie was shown or filed, not what it is like.
NOT_TASTES = {"IMAX", "(no genres listed)"}


@dataclass(frozen=True)
class PickGroup:
    label: int  # the cluster's label in its version
    name: str
    movie_ids: list[int]  # what choosing the group stands for (group_evidence), best known first

    @property
    def shown_ids(self) -> list[int]:
        return self.movie_ids[:GROUP_MOVIES]


def pick_groups_offered() -> tuple[int, list[PickGroup]]:
    """(active version id, its groups), best-known groups first; (0, []) without a version or its explore data."""
    loaded = active_factors()
    if loaded is None:
        return 0, []
    version_id = loaded[0]
    rows = cache.get_or_set(cache_keys.pick_groups(version_id), lambda: _groups_build(version_id), GROUPS_SECONDS)
    return version_id, [PickGroup(label, name, list(ids)) for label, name, ids in rows or ()]


def _groups_build(version_id: int) -> list[tuple[int, str, list[int]]]:
    """The groups of the version as cacheable tuples.

    1. The WELL_KNOWN most rated movies (one query), by the cluster they belong to.
    2. Each cluster with GROUP_MIN_MOVIES of them: its GROUP_EVIDENCE best known near the centre
       of those, as the cluster's name is made (engine.similar.best_known_near_centre).
    3. The groups whose shown movies are best known first (the median of their counts), each kept when
       one of the two genres that name it (_genres) is new among those kept, so that the groups span tastes;
       then, if fewer than GROUPS_SHOWN, the others in the same order. Fewer than GROUPS_FEWEST: none.
    """
    explore = active_explore()
    loaded = active_factors()
    if explore is None or loaded is None or explore.version_id != version_id or loaded[0] != version_id:
        return []
    factors = loaded[1]
    counts = dict(
        Movie.objects.filter(ratings_count__gt=0)
        .order_by("-ratings_count", "pk")
        .values_list("pk", "ratings_count")[:WELL_KNOWN]
    )
    known: dict[int, list[int]] = {}
    for movie_id in counts:
        label = explore.cluster_of.get(movie_id)
        if label is not None and factors.movie_index(movie_id) is not None:
            known.setdefault(label, []).append(movie_id)
    unit = similarity_vectors(factors)
    rated = np.zeros(factors.n_movies, dtype=np.int64)
    rows = factors.movies.index(np.array(list(counts), dtype=np.int64), unknown="missing")
    rated[rows[rows >= 0]] = np.array(list(counts.values()), dtype=np.int64)[rows >= 0]
    candidates = []
    for label, movie_ids in known.items():
        if len(movie_ids) < GROUP_MIN_MOVIES:
            continue
        indexes = factors.movies.index(np.array(movie_ids, dtype=np.int64))
        centre = unit[indexes].mean(axis=0)
        chosen = best_known_near_centre(indexes, unit, centre, rated)[:GROUP_EVIDENCE]
        fame = float(np.median(rated[chosen[:GROUP_MOVIES]]))
        candidates.append((fame, label, [int(m) for m in factors.movie_ids[chosen]]))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    kept: list[tuple[int, list[int]]] = []
    covered: set[str] = set()
    for _, label, movie_ids in candidates:
        genres = set(_genres(explore.by_label[label]))
        if genres - covered:
            kept.append((label, movie_ids))
            covered |= genres
    kept += [(label, movie_ids) for _, label, movie_ids in candidates if (label, movie_ids) not in kept]
    if len(kept) < GROUPS_FEWEST:
        return []
    return [(label, _name(explore.by_label[label]), movie_ids) for label, movie_ids in kept[:GROUPS_SHOWN]]


def _genres(cluster: ExploreCluster) -> list[str]:
    """The two genres most over-represented in the cluster that say what its movies are like."""
    return [g for g, _ in cluster.genres if g not in NOT_TASTES][:2]


def _name(cluster: ExploreCluster) -> str:
    """The genres that name the cluster ("Adventure / Sci-Fi"): its movies, shown beside, say the rest."""
    return " / ".join(_genres(cluster)) or cluster.name
