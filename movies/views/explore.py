"""Exploring the ratings: the tutorial's analysis, and the pages drawn from the trained model.

The model's pages (movie map, clusters, biases) read the active version's explore file
(computed once after training, see recommender.services.explore) and never compute
t-SNE or KMeans in a request.
Without an active version or its file, they say so.
"""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from movies import selectors
from movies.forms import ExploreForm
from movies.models import Movie
from recommender.services.explore import Explore, active_explore

CLUSTER_PAGE_MOVIES = 200
EXPLORE_LIST_LENGTH = 20


@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    """The tutorial's analysis of the ratings, live: the parts that need no trained model."""
    form = ExploreForm(request.GET or None)
    min_ratings = form.min_ratings_value()
    genres = selectors.genre_stats_list()
    rated = [g for g in genres if g.mean is not None]
    return render(
        request,
        "movies/explore.html",
        {
            "form": form,
            "min_ratings": min_ratings,
            "top_rated": selectors.movie_list_top_rated(min_ratings=min_ratings, limit=EXPLORE_LIST_LENGTH),
            "most_rated": selectors.movie_list_most_rated(limit=EXPLORE_LIST_LENGTH),
            "genres_by_mean": sorted(rated, key=lambda g: (-g.mean, g.name)),
            "genres_by_count": sorted(genres, key=lambda g: (-g.ratings, g.name)),
            "max_genre_ratings": max((g.ratings for g in genres), default=0),
        },
    )


@require_GET
def movie_map(request: HttpRequest) -> HttpResponse:
    explore = active_explore()
    return render(
        request,
        "movies/explore_map.html",
        {"explore": explore, "points_url": reverse("movies:explore_map_points"), "clusters": _cluster_rows(explore)},
    )


def _cluster_rows(explore: Explore | None) -> list[dict]:
    if explore is None:
        return []
    return [{"label": c.label, "name": c.name, "size": len(c.movie_ids), "titles": c.titles} for c in explore.clusters]


@require_GET
def movie_map_points(request: HttpRequest) -> JsonResponse:
    """The map as JSON: points [id, title, x, y, cluster], x and y in [0, 1]."""
    explore = active_explore()
    if explore is None:
        return JsonResponse({"version": None, "points": [], "clusters": []}, status=404)
    ids = [p[0] for p in explore.points]
    labels = selectors.movie_labels(movie_ids=ids)
    points = [
        [m, labels[m], x, y, c]
        for m, x, y, c in explore.points
        if m in labels  # a movie deleted since training
    ]
    clusters = [[c.label, c.name] for c in explore.clusters]
    response = JsonResponse({"version": explore.version_id, "points": points, "clusters": clusters})
    # The data changes only with the active version: let the browser keep it a little.
    response["Cache-Control"] = "max-age=60"
    return response


@require_GET
@never_cache
def movie_map_mine(request: HttpRequest) -> JsonResponse:
    """The signed-in person's stars for the movies on the map: [[id, stars], ...], empty for a visitor.

    Apart from the points, which every visitor shares and the browser may keep; these are one
    person's and never cached.
    """
    explore = active_explore()
    if explore is None or not request.user.is_authenticated:
        return JsonResponse({"ratings": []})
    values = selectors.rating_values_for_user(user=request.user, movie_ids=[p[0] for p in explore.points])
    return JsonResponse({"ratings": [[movie_id, stars] for movie_id, stars in sorted(values.items())]})


@require_GET
def cluster_list(request: HttpRequest) -> HttpResponse:
    explore = active_explore()
    return render(request, "movies/explore_clusters.html", {"explore": explore, "clusters": _cluster_rows(explore)})


@require_GET
def cluster_detail(request: HttpRequest, label: int) -> HttpResponse:
    explore = active_explore()
    if explore is None or label not in explore.by_label:
        raise Http404("No such cluster")
    cluster = explore.by_label[label]
    # Most rated first: the ones people know tell what the cluster is about.
    movies = selectors.movie_list_most_rated_among(movie_ids=cluster.movie_ids, limit=CLUSTER_PAGE_MOVIES)
    my_values = selectors.rating_values_for_user(user=request.user, movie_ids=[m.pk for m in movies])
    return render(
        request,
        "movies/explore_cluster.html",
        {
            "explore": explore,
            "cluster": cluster,
            "movies": movies,
            "size": len(cluster.movie_ids),
            "my_values": my_values,
        },
    )


@require_GET
def biases(request: HttpRequest) -> HttpResponse:
    explore = active_explore()
    likes: list[tuple[Movie, float]] = []
    dislikes: list[tuple[Movie, float]] = []
    if explore is not None:
        movies = selectors.movie_in_bulk_brief(
            movie_ids=[m for m, _ in explore.likes] + [m for m, _ in explore.dislikes]
        )
        likes = [(movies[m], b) for m, b in explore.likes if m in movies]
        dislikes = [(movies[m], b) for m, b in explore.dislikes if m in movies]
    return render(request, "movies/explore_biases.html", {"explore": explore, "likes": likes, "dislikes": dislikes})
