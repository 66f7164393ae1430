"""The catalogue in Django admin: movies, genres, ratings, tags, "not interested" marks, onboarding's chosen groups."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from movies.models import Dismissal, Genre, GroupChoice, Movie, MovieLensAccount, Rating, Tag


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "movie_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Genre]:
        return super().get_queryset(request).annotate(movie_count=Count("movies"))

    @admin.display(ordering="movie_count", description="movies")
    def movie_count(self, genre: Genre) -> int:
        return genre.movie_count  # type: ignore[attr-defined]


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "display_title",
        "year",
        "genre_names",
        "ratings_count",
        "ratings_mean",
        "imdb_id",
        "tmdb_id",
    ]
    list_filter = ["genres", "year"]
    search_fields = ["title", "=id", "=imdb_id"]
    filter_horizontal = ["genres"]
    readonly_fields = ["ratings_count", "ratings_mean"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Movie]:
        return super().get_queryset(request).prefetch_related("genres")

    @admin.display(ordering="title", description="title")
    def display_title(self, movie: Movie) -> str:
        return movie.display_title

    @admin.display(description="genres")
    def genre_names(self, movie: Movie) -> str:
        return ", ".join(g.name for g in movie.genres.all())


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["user", "movie", "value", "rated_at"]
    list_filter = ["value"]
    list_select_related = ["user", "movie"]
    search_fields = ["=user__username", "movie__title"]
    raw_id_fields = ["user", "movie"]
    date_hierarchy = "rated_at"
    # Counting 25M rows on every page is slow; the paginator shows "more" instead.
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["text", "movie", "user", "tagged_at"]
    list_select_related = ["user", "movie"]
    search_fields = ["text", "movie__title"]
    raw_id_fields = ["user", "movie"]
    show_full_result_count = False


@admin.register(MovieLensAccount)
class MovieLensAccountAdmin(admin.ModelAdmin):
    list_display = ["movielens_id", "user"]
    search_fields = ["=movielens_id", "=user__username"]
    raw_id_fields = ["user"]
    show_full_result_count = False


@admin.register(Dismissal)
class DismissalAdmin(admin.ModelAdmin):
    list_display = ["user", "movie", "created_at"]
    list_select_related = ["user", "movie"]
    search_fields = ["=user__username", "movie__title"]
    raw_id_fields = ["user", "movie"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(GroupChoice)
class GroupChoiceAdmin(admin.ModelAdmin):
    list_display = ["user", "group", "liked", "movie", "created_at"]
    list_filter = ["liked"]
    list_select_related = ["user", "movie"]
    search_fields = ["=user__username", "group", "movie__title"]
    raw_id_fields = ["user", "movie"]
    date_hierarchy = "created_at"
    show_full_result_count = False
