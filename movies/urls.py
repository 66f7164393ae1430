from django.urls import path

from movies.views import catalogue as views
from movies.views import explore as views_model

app_name = "movies"

urlpatterns = [
    path("movies/", views.movie_list, name="list"),
    path("movies/<int:movie_id>/", views.movie_detail, name="detail"),
    path("movies/<int:movie_id>/rating/", views.movie_rate, name="rate"),
    path("movies/<int:movie_id>/rating/delete/", views.movie_rating_delete, name="rating_delete"),
    path("movies/<int:movie_id>/not-interested/", views.movie_dismiss, name="dismiss"),
    path("movies/<int:movie_id>/not-interested/undo/", views.movie_undismiss, name="undismiss"),
    path("me/ratings/", views.rating_list, name="my_ratings"),
    path("explore/", views.explore, name="explore"),
    path("explore/map/", views_model.movie_map, name="explore_map"),
    path("explore/map/points.json", views_model.movie_map_points, name="explore_map_points"),
    path("explore/clusters/", views_model.cluster_list, name="explore_clusters"),
    path("explore/clusters/<int:label>/", views_model.cluster_detail, name="explore_cluster"),
    path("explore/biases/", views_model.biases, name="explore_biases"),
]
