"""The authenticated user's own data: picks, ratings, "not interested", the watchlist.

Every query here is scoped to request.auth (the caller): there is no user id in
any path, so no call can reach another user's ratings.
"""

from __future__ import annotations

import json
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


def _no_movie(movie_id: int) -> Status:
    return Status(404, ErrorOut(detail=f"No movie with id {movie_id}."))


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


@router.put("/me/ratings/{movie_id}", response={200: RatingOut, **BODY_ERRORS}, summary="Rate a movie (or re-rate)")
def rating_put(request: HttpRequest, movie_id: MovieId, body: RatingIn) -> Any:
    try:
        rating = services.rating_create_or_update(user=request.auth, movie_id=movie_id, value=body.value)
    except ValidationError as error:
        if "movie_id" in error.message_dict:
            return _no_movie(movie_id)
        raise
    user_picks_refresh_logged(user_id=request.auth.pk)
    with_genre_names([rating.movie])
    return rating


@router.delete("/me/ratings/{movie_id}", response={204: None, **USER_ERRORS}, summary="Remove my rating")
def rating_delete(request: HttpRequest, movie_id: MovieId) -> Any:
    try:
        removed = services.rating_delete(user=request.auth, movie_id=movie_id)
    except ValidationError as error:
        if "movie_id" in error.message_dict:
            return _no_movie(movie_id)
        raise
    if not removed:
        return Status(404, ErrorOut(detail=f"You have not rated movie {movie_id}."))
    user_picks_refresh_logged(user_id=request.auth.pk)
    return Status(204, None)


@router.get("/me/not-interested", response={200: list[DismissalOut], **USER_ERRORS}, summary="Movies I dismissed")
def dismissal_list(request: HttpRequest) -> list[Any]:
    rows = list(selectors.dismissal_list_for_user(user=request.auth))
    with_genre_names(d.movie for d in rows)
    return rows


@router.put(
    "/me/not-interested/{movie_id}", response={200: DismissalOut, **USER_ERRORS}, summary="Never suggest this movie"
)
def dismissal_put(request: HttpRequest, movie_id: MovieId) -> Any:
    try:
        dismissal = services.movie_dismiss(user=request.auth, movie_id=movie_id)
    except ValidationError as error:
        if "movie_id" in error.message_dict:
            return _no_movie(movie_id)
        raise
    user_picks_refresh_logged(user_id=request.auth.pk)
    with_genre_names([dismissal.movie])
    return dismissal


@router.delete("/me/not-interested/{movie_id}", response={204: None, **USER_ERRORS}, summary="Suggest it again")
def dismissal_delete(request: HttpRequest, movie_id: MovieId) -> Any:
    if not services.movie_undismiss(user=request.auth, movie_id=movie_id):
        return Status(404, ErrorOut(detail=f"Movie {movie_id} is not marked 'not interested'."))
    user_picks_refresh_logged(user_id=request.auth.pk)
    return Status(204, None)


@router.get("/me/watchlist", response={200: list[WatchlistOut], **USER_ERRORS}, summary="Movies I saved for later")
def watchlist_list(request: HttpRequest) -> list[Any]:
    rows = list(selectors.watchlist_for_user(user=request.auth))
    with_genre_names(e.movie for e in rows)
    return rows


@router.put("/me/watchlist/{movie_id}", response={200: WatchlistOut, **USER_ERRORS}, summary="Save a movie for later")
def watchlist_put(request: HttpRequest, movie_id: MovieId) -> Any:
    try:
        entry = services.watchlist_add(user=request.auth, movie_id=movie_id)
    except ValidationError as error:
        if "movie_id" in error.message_dict:
            return _no_movie(movie_id)
        raise
    user_picks_refresh_logged(user_id=request.auth.pk)
    with_genre_names([entry.movie])
    return entry


@router.delete("/me/watchlist/{movie_id}", response={204: None, **USER_ERRORS}, summary="Take it off the watchlist")
def watchlist_delete(request: HttpRequest, movie_id: MovieId) -> Any:
    if not services.watchlist_remove(user=request.auth, movie_id=movie_id):
        return Status(404, ErrorOut(detail=f"Movie {movie_id} is not on your watchlist."))
    user_picks_refresh_logged(user_id=request.auth.pk)
    return Status(204, None)
