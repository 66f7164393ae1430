"""URLs of the catalogue's pages (namespace "movies")."""

from django.urls import path

from movies.views import catalogue, explore, finding, onboarding, picks, ratings, tags, watchlist

app_name = "movies"

urlpatterns = [
    path("movies/", catalogue.movie_list, name="list"),
    path("movies/suggest/", finding.movie_suggest, name="suggest"),
    path("movies/<int:movie_id>/", catalogue.movie_detail, name="detail"),
    path("movies/<int:movie_id>/rating/", ratings.movie_rate, name="rate"),
    path("movies/<int:movie_id>/rating/delete/", ratings.movie_rating_delete, name="rating_delete"),
    path("movies/<int:movie_id>/not-interested/", ratings.movie_dismiss, name="dismiss"),
    path("movies/<int:movie_id>/not-interested/undo/", ratings.movie_undismiss, name="undismiss"),
    path("movies/<int:movie_id>/watchlist/", watchlist.watchlist_add, name="watchlist_add"),
    path("movies/<int:movie_id>/watchlist/remove/", watchlist.watchlist_remove, name="watchlist_remove"),
    path("movies/<int:movie_id>/skip/", onboarding.movie_skip, name="skip"),
    path("tags/<path:tag>/", tags.tag_detail, name="tag"),
    path("me/ratings/", ratings.rating_list, name="my_ratings"),
    path("me/watchlist/", watchlist.watchlist, name="watchlist"),
    path("me/picks/", picks.picks, name="picks"),
    path("explore/", explore.explore, name="explore"),
    path("explore/map/", explore.movie_map, name="explore_map"),
    path("explore/map/points.json", explore.movie_map_points, name="explore_map_points"),
    path("explore/map/mine.json", explore.movie_map_mine, name="explore_map_mine"),
    path("explore/clusters/", explore.cluster_list, name="explore_clusters"),
    path("explore/clusters/<int:label>/", explore.cluster_detail, name="explore_cluster"),
    path("explore/biases/", explore.biases, name="explore_biases"),
]
