"""URLs of the catalogue's pages (namespace "movies")."""

from django.urls import URLPattern, include, path

from movies.views import (
    catalogue,
    explore,
    finding,
    marks,
    onboarding,
    pick_groups,
    picks,
    ratings,
    tags,
    watchlist,
)
from movies.views.marks import NOT_INTERESTED, WATCHLIST, Mark

app_name = "movies"


def _mark_path(route: str, mark: Mark, *, on: bool, name: str) -> URLPattern:
    """A route to the view that puts the mark on a movie (on=True) or takes it off."""
    return path(route, marks.mark_set, {"mark": mark, "on": on}, name=name)


urlpatterns = [
    path("movies/", catalogue.movie_list, name="list"),
    path("movies/suggest/", finding.movie_suggest, name="suggest"),
    path("movies/<int:movie_id>/", catalogue.movie_detail, name="detail"),
    path("movies/<int:movie_id>/rating/", ratings.movie_rate, name="rate"),
    path("movies/<int:movie_id>/rating/delete/", ratings.movie_rating_delete, name="rating_delete"),
    _mark_path("movies/<int:movie_id>/not-interested/", NOT_INTERESTED, on=True, name="dismiss"),
    _mark_path("movies/<int:movie_id>/not-interested/undo/", NOT_INTERESTED, on=False, name="undismiss"),
    _mark_path("movies/<int:movie_id>/watchlist/", WATCHLIST, on=True, name="watchlist_add"),
    _mark_path("movies/<int:movie_id>/watchlist/remove/", WATCHLIST, on=False, name="watchlist_remove"),
    path("movies/<int:movie_id>/skip/", onboarding.movie_skip, name="skip"),
    path("tags/<path:tag>/", tags.tag_detail, name="tag"),
    path("me/ratings/", ratings.rating_list, name="my_ratings"),
    path("me/watchlist/", watchlist.watchlist, name="watchlist"),
    path("me/picks/", picks.picks, name="picks"),
    path("me/pick-groups/", pick_groups.pick_groups_save, name="pick_groups"),
    # The model explored: the movie map, clusters, the movies everyone likes.
    path(
        "explore/",
        include(
            [
                path("", explore.explore, name="explore"),
                path("map/", explore.movie_map, name="explore_map"),
                path("map/points.json", explore.movie_map_points, name="explore_map_points"),
                path("map/mine.json", explore.movie_map_mine, name="explore_map_mine"),
                path("clusters/", explore.cluster_list, name="explore_clusters"),
                path("clusters/<int:label>/", explore.cluster_detail, name="explore_cluster"),
                path("biases/", explore.biases, name="explore_biases"),
            ]
        ),
    ),
]
