"""Public reads: the catalogue, one movie with its similar movies, genres, the active model."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from movies import selectors
from movies.models import Genre, Movie
from recommender.api.common import MAX_PAGE, PUBLIC_ERRORS, page_of, with_genre_names
from recommender.api.schemas import (
    MAX_ID,
    ErrorOut,
    GenreOut,
    ModelVersionOut,
    MovieDetailOut,
    MoviePageOut,
    MovieSort,
)
from recommender.selectors import version_active
from recommender.services import similar_to
from recommender.services.shown import similar_shown

router = Router(tags=["catalogue"])

# A title search never needs more; NUL cannot be stored in PostgreSQL text, so it is refused up front.
SEARCH_PATTERN = r"^[^\x00]*$"
MovieId = Annotated[int, Path(ge=1, le=MAX_ID, description="The MovieLens movie id.")]


@router.get("/movies", response={200: MoviePageOut, **PUBLIC_ERRORS}, summary="Search and filter movies")
def movie_list(
    request: HttpRequest,
    q: Annotated[str, Query(max_length=200, pattern=SEARCH_PATTERN, description="Words in the title.")] = "",
    genre: Annotated[str | None, Query(max_length=64, pattern=SEARCH_PATTERN, description="A genre name.")] = None,
    year_from: Annotated[int | None, Query(ge=1800, le=2100)] = None,
    year_to: Annotated[int | None, Query(ge=1800, le=2100)] = None,
    sort: Annotated[
        MovieSort | None,
        Query(description="Default: relevance (best match first) with q, else rating (needs min_ratings ratings)."),
    ] = None,
    min_ratings: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 24,
) -> dict[str, Any]:
    genre_row: Genre | None = None
    if genre:
        genre_row = next((g for g in selectors.genre_list() if g.name.lower() == genre.lower()), None)
        if genre_row is None:  # a genre no movie has: no movies, as a filter should say
            return {"count": 0, "page": page, "pages": 1, "results": []}
    movies = selectors.movie_search(
        query=q,
        genre=genre_row,
        year_from=year_from,
        year_to=year_to,
        sort=sort or ("relevance" if q.strip() else "rating"),
        min_ratings=min_ratings,
    )
    return page_of(movies, page=page, page_size=page_size)


@router.get("/movies/{movie_id}", response={200: MovieDetailOut, **PUBLIC_ERRORS}, summary="One movie and similar ones")
def movie_detail(
    request: HttpRequest,
    movie_id: MovieId,
    similar: Annotated[int, Query(ge=0, le=50, description="How many similar movies.")] = 10,
) -> dict[str, Any] | tuple[int, ErrorOut]:
    try:
        movie = selectors.movie_get(movie_id=movie_id)
    except Movie.DoesNotExist:
        return Status(404, ErrorOut(detail=f"No movie with id {movie_id}."))
    nearest = similar_to(movie, n=similar) if similar else []
    similar_shown(user_id=getattr(getattr(request, "user", None), "pk", None), movie_ids=[m.pk for m, _ in nearest])
    with_genre_names(m for m, _ in nearest)
    return {"movie": movie, "similar": [{"movie": m, "similarity": s} for m, s in nearest]}


@router.get("/genres", response={200: list[GenreOut], **PUBLIC_ERRORS}, summary="Every genre")
def genre_list(request: HttpRequest) -> list[Genre]:
    return selectors.genre_list()


@router.get("/model", response={200: ModelVersionOut, **PUBLIC_ERRORS}, tags=["model"], summary="The active model")
def model_active(request: HttpRequest) -> Any:
    version = version_active()
    if version is None:
        return Status(404, ErrorOut(detail="No model version is active yet: picks are popular movies."))
    return version
