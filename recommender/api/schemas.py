"""What the API sends and accepts.

Output schemas read model attributes; no queries here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from movies.models import Movie, movie_url

MAX_ID = 2**31 - 1  # PostgreSQL integer: a larger id is a 404/422, never a database error
MovieSort = Literal["relevance", "rating", "count", "title", "newest"]
RatingSort = Literal["newest", "oldest", "highest", "lowest", "title"]


def movie_data(movie: Movie) -> dict[str, Any]:
    """A movie as MovieOut's plain dict: validating a dict costs pydantic far less than reading
    a model instance through ninja's attribute getter."""
    return {
        "id": movie.pk,
        "title": movie.display_title,
        "year": movie.year,
        "genres": MovieOut.resolve_genres(movie),
        "ratings_count": movie.ratings_count,
        "ratings_mean": movie.ratings_mean,
        "url": movie_url(movie.pk),
        "imdb_url": movie.imdb_url,
        "tmdb_url": movie.tmdb_url,
    }


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong, in words.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems of a 422.")


class MovieOut(Schema):
    id: int
    title: str = Field(description='As people write it: "The Matrix", not MovieLens\' "Matrix, The".')
    year: int | None
    genres: list[str]
    ratings_count: int
    ratings_mean: float | None
    url: str = Field(description="The movie's page on this site.")
    imdb_url: str
    tmdb_url: str

    @staticmethod
    def resolve_title(movie: Movie | dict) -> str:
        return movie["title"] if isinstance(movie, dict) else movie.display_title

    @staticmethod
    def resolve_genres(movie: Movie | dict) -> list[str]:
        if isinstance(movie, dict):  # already a movie_data dict
            return movie["genres"]
        # Callers load the genres first (prefetch_related, or _genre_names set by the router).
        names = getattr(movie, "_genre_names", None)
        if names is not None:
            return names
        return [g.name for g in movie.genres.all()]

    @staticmethod
    def resolve_url(movie: Movie | dict) -> str:
        return movie["url"] if isinstance(movie, dict) else movie_url(movie.pk)


class MoviePageOut(Schema):
    count: int
    page: int
    pages: int
    results: list[MovieOut]


class SimilarOut(Schema):
    movie: MovieOut
    similarity: float = Field(description="Cosine of the two movies' embeddings, -1 to 1.")


class MovieDetailOut(Schema):
    movie: MovieOut
    similar: list[SimilarOut] = Field(description="Nearest movies in the active model; empty without one.")


class GenreOut(Schema):
    id: int
    name: str


class PickOut(Schema):
    movie: MovieOut
    stars: float | None = Field(description="Predicted stars (personal) or the movie's average (popular).")
    score: float
    personal: bool = Field(description="False for popular picks given to users the model knows nothing of.")
    because: MovieOut | None = Field(description="A movie the user liked that is most like this one.")


class RatingIn(Schema):
    # A field the API does not take (e.g. user_id) is a 422 naming it, not silently ignored.
    model_config = ConfigDict(extra="forbid")

    # strict: a JSON number only; true, "4" and "4.5 " are refused, not coerced to stars.
    value: float = Field(ge=0.5, le=5.0, multiple_of=0.5, strict=True, description="Half stars, 0.5 to 5.")


class RatingOut(Schema):
    movie: MovieOut
    value: float
    rated_at: datetime


class RatingPageOut(Schema):
    count: int
    page: int
    pages: int
    results: list[RatingOut]


class DismissalOut(Schema):
    movie: MovieOut
    created_at: datetime


class WatchlistOut(DismissalOut):
    """A movie saved for later: kept out of the picks while it is on the watchlist."""


class ClusterGenreOut(Schema):
    name: str
    share: float = Field(description="Share of the cluster's movies that have this genre, 0 to 1.")


class ClusterOut(Schema):
    id: int
    name: str = Field(description="Named after its most typical genres and titles.")
    size: int = Field(description="How many movies the cluster holds.")
    genres: list[ClusterGenreOut] = Field(description="Its typical genres: common in it, rarer elsewhere.")
    titles: list[str] = Field(description="Its most typical movies, nearest to its centre first.")


class ClusterListOut(Schema):
    version: int = Field(description="The model version the clusters belong to; a retrain makes new ones.")
    clusters: list[ClusterOut]


class ClusterPageOut(Schema):
    version: int
    cluster: ClusterOut
    count: int
    page: int
    pages: int
    results: list[MovieOut] = Field(description="The cluster's movies, most rated first.")


class ModelVersionOut(Schema):
    id: int
    preset: str
    state: str
    n_ratings: int
    n_users: int
    n_movies: int
    created_at: datetime
    finished_at: datetime | None
    activated_at: datetime | None
    params: dict[str, Any]
    metrics: dict[str, Any] = Field(description="As measured at training: RMSE, MAE, precision/recall/nDCG@k, ...")
