"""Clusters of the active model: KMeans groups of movies, read from the version's explore data.

The data is computed once after training (recommender.services.explore); these calls
only read it. Cluster ids are the KMeans labels of the active version: a retrain
makes new clusters under the same ids, which is why every answer names its version.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from movies.models import Movie
from recommender.api.common import MAX_PAGE, PUBLIC_ERRORS, page_of
from recommender.api.schemas import MAX_ID, ClusterListOut, ClusterPageOut, ErrorOut
from recommender.selectors import version_active
from recommender.services.explore import Explore, ExploreCluster, active_explore

router = Router(tags=["clusters"])

ClusterId = Annotated[int, Path(ge=0, le=MAX_ID, description="The cluster's id in the active model.")]


def _no_explore() -> Status:
    version = version_active()
    if version is None:
        return Status(404, ErrorOut(detail="No model version is active yet, so there are no clusters."))
    return Status(
        404,
        ErrorOut(
            detail=f"The active model (v{version.pk}) has no cluster data yet: it is computed after "
            f"training (manage.py explore_refresh --version {version.pk})."
        ),
    )


def _cluster_data(cluster: ExploreCluster) -> dict[str, Any]:
    return {
        "id": cluster.label,
        "name": cluster.name,
        "size": len(cluster.movie_ids),
        "genres": [{"name": name, "share": share} for name, share in cluster.genres],
        "titles": cluster.titles,
    }


@router.get("/clusters", response={200: ClusterListOut, **PUBLIC_ERRORS}, summary="Clusters of the active model")
def cluster_list(request: HttpRequest) -> Any:
    explore: Explore | None = active_explore()
    if explore is None:
        return _no_explore()
    return {"version": explore.version_id, "clusters": [_cluster_data(c) for c in explore.clusters]}


@router.get(
    "/clusters/{cluster_id}", response={200: ClusterPageOut, **PUBLIC_ERRORS}, summary="One cluster and its movies"
)
def cluster_detail(
    request: HttpRequest,
    cluster_id: ClusterId,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 24,
) -> Any:
    explore = active_explore()
    if explore is None:
        return _no_explore()
    cluster = explore.by_label.get(cluster_id)
    if cluster is None:
        return Status(
            404, ErrorOut(detail=f"No cluster with id {cluster_id} in the active model (v{explore.version_id}).")
        )
    # Most rated first, as on the site's cluster page: the movies people know say what the cluster is.
    movies = Movie.objects.prefetch_related("genres").filter(pk__in=cluster.movie_ids)
    movies = movies.order_by("-ratings_count", "title")
    return {
        "version": explore.version_id,
        "cluster": _cluster_data(cluster),
        **page_of(movies, page=page, page_size=page_size),
    }
