"""The authenticated user's own data: picks, ratings, "not interested", the watchlist.

Every query here is scoped to request.auth (the caller): there is no user id in
any path, so no call can reach another user's ratings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import partial
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from movies import selectors, services
from recommender.api.auth import USER_AUTH
from recommender.api.common import BODY_ERRORS, MAX_PAGE, USER_ERRORS, page_of, with_genre_names
from recommender.api.picks_cache import picks_body
from recommender.api.schemas import (
    MAX_ID,
    DismissalOut,
    ErrorOut,
    PickOut,
    RatingIn,
    RatingOut,
    RatingPageOut,
    RatingSort,
    WatchlistOut,
    movie_data,
)
from recommender.services import recommend_for, user_picks_refresh_logged
from recommender.services.impressions import Source
from recommender.services.shown import picks_shown

router = Router(tags=["me"], auth=USER_AUTH)

MovieId = Annotated[int, Path(ge=1, le=MAX_ID, description="The MovieLens movie id.")]


def _with_movie_genres(rows: Iterable[Any]) -> list[Any]:
    """The caller's rows (ratings, marks) as a list, their movies given genre names for MovieOut."""
    listed = list(rows)
    with_genre_names(row.movie for row in listed)
    return listed


def _row_put(request: HttpRequest, movie_id: int, change: Callable[..., Any]) -> Any:
    """Make or change the caller's row for a movie (a rating, a mark) with change(user=, movie_id=),
    refresh their picks and answer the row; 404 for an unknown movie."""
    try:
        row = change(user=request.auth, movie_id=movie_id)
    except ValidationError as error:
        if "movie_id" in error.message_dict:
            return Status(404, ErrorOut(detail=f"No movie with id {movie_id}."))
        raise
    user_picks_refresh_logged(user_id=request.auth.pk)
    with_genre_names([row.movie])
    return row


def _row_delete(request: HttpRequest, movie_id: int, change: Callable[..., bool], missing: str) -> Any:
    """Remove the caller's row for a movie with change(user=, movie_id=), which says whether there was
    one, and refresh their picks: 204, or 404 with `missing` when there was nothing to remove."""
    if not change(user=request.auth, movie_id=movie_id):
        return Status(404, ErrorOut(detail=missing))
    user_picks_refresh_logged(user_id=request.auth.pk)
    return Status(204, None)


@router.get("/me/picks", response={200: list[PickOut], **USER_ERRORS}, summary="My picks, best first")
def picks(
    request: HttpRequest,
    n: Annotated[int, Query(ge=1, le=100)] = 20,
    genre: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$", description="Only this genre.")] = None,
) -> HttpResponse:
    body = picks_body(user_id=request.auth.pk, n=n, genre=genre, build=lambda: _picks_json(request.auth, n, genre))
    picks_shown(user_id=request.auth.pk, source=Source.API, movie_ids=[p["movie"]["id"] for p in json.loads(body)])
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _picks_json(user: Any, n: int, genre: str | None) -> bytes:
    # A genre filter is applied to the user's whole stored list, so it still finds n picks
    # when the genre is rare among the first n.
    wanted = max(n, settings.RECOMMENDER_LIST_LENGTH) if genre else n
    found = recommend_for(user, n=wanted)
    with_genre_names([m for p in found for m in (p.movie, p.because)])
    if genre:
        key = genre.lower()
        found = [p for p in found if key in (g.lower() for g in p.movie._genre_names)]
    body = [
        {
            "movie": movie_data(p.movie),
            "stars": p.stars,
            "score": p.score,
            "personal": p.personal,
            "because": movie_data(p.because) if p.because is not None else None,
        }
        for p in found[:n]
    ]
    # Written as JSON here rather than validated by ninja against PickOut: that validation would
    # cost more than building the picks. The schema still documents the body, and the tests
    # (schemathesis among them) check every answer against it.
    return json.dumps(body).encode()


@router.put("/me/ratings/{movie_id}", response={200: RatingOut, **BODY_ERRORS}, summary="Rate a movie (or re-rate)")
def rating_put(request: HttpRequest, movie_id: MovieId, body: RatingIn) -> Any:
    return _row_put(request, movie_id, partial(services.rating_create_or_update, value=body.value))


@router.delete("/me/ratings/{movie_id}", response={204: None, **USER_ERRORS}, summary="Remove my rating")
def rating_delete(request: HttpRequest, movie_id: MovieId) -> Any:
    return _row_delete(request, movie_id, services.rating_delete, f"You have not rated movie {movie_id}.")


@router.get("/me/ratings", response={200: RatingPageOut, **USER_ERRORS}, summary="My ratings")
def rating_list(
    request: HttpRequest,
    sort: RatingSort = "newest",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    result = page_of(selectors.rating_list_for_user(user=request.auth, sort=sort), page=page, page_size=page_size)
    with_genre_names(r.movie for r in result["results"])
    return result


@router.get("/me/not-interested", response={200: list[DismissalOut], **USER_ERRORS}, summary="Movies I dismissed")
def dismissal_list(request: HttpRequest) -> list[Any]:
    return _with_movie_genres(selectors.dismissal_list_for_user(user=request.auth))


@router.put(
    "/me/not-interested/{movie_id}", response={200: DismissalOut, **USER_ERRORS}, summary="Never suggest this movie"
)
def dismissal_put(request: HttpRequest, movie_id: MovieId) -> Any:
    return _row_put(request, movie_id, services.movie_dismiss)


@router.delete("/me/not-interested/{movie_id}", response={204: None, **USER_ERRORS}, summary="Suggest it again")
def dismissal_delete(request: HttpRequest, movie_id: MovieId) -> Any:
    return _row_delete(request, movie_id, services.movie_undismiss, f"Movie {movie_id} is not marked 'not interested'.")


@router.get("/me/watchlist", response={200: list[WatchlistOut], **USER_ERRORS}, summary="Movies I saved for later")
def watchlist_list(request: HttpRequest) -> list[Any]:
    return _with_movie_genres(selectors.watchlist_for_user(user=request.auth))


@router.put("/me/watchlist/{movie_id}", response={200: WatchlistOut, **USER_ERRORS}, summary="Save a movie for later")
def watchlist_put(request: HttpRequest, movie_id: MovieId) -> Any:
    return _row_put(request, movie_id, services.watchlist_add)


@router.delete("/me/watchlist/{movie_id}", response={204: None, **USER_ERRORS}, summary="Take it off the watchlist")
def watchlist_delete(request: HttpRequest, movie_id: MovieId) -> Any:
    return _row_delete(request, movie_id, services.watchlist_remove, f"Movie {movie_id} is not on your watchlist.")
