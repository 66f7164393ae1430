from django.urls import path

from movies import views

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
]
