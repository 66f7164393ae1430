"""Steering one's picks: filter them by genre and decade, and the home page's rows that each give a reason.

The picks themselves come from the recommender (recommend_for: ordered by predicted stars, reasons
only from movies the person liked); this module only chooses among them and groups them.
"""

from collections import defaultdict
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from movies import selectors
from movies.models import Genre, Movie
from movies.views.helpers import is_htmx
from recommender.services import Pick, recommend_for

PICKS_COUNT = 20
# A new user sees the onboarding groups until they have rated this many movies.
ONBOARDING_RATINGS = 5
DECADES = list(range(1920, 2030, 10))
# "Because you liked ..." rows: how many, how long, and the fewest picks that make a row worth showing.
REASON_ROWS = 3
REASON_ROW_LENGTH = 8
REASON_ROW_MIN = 3


class PicksFilterForm(forms.Form):
    genre = forms.ChoiceField(required=False, label="Genre")
    decade = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any decade"), *((d, f"{d}s") for d in reversed(DECADES))],
        label="Decade",
    )

    def __init__(self, *args: object, genres: list[Genre], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["genre"].choices = [("", "Any genre")] + [(g.name, g.name) for g in genres]

    def filters(self) -> tuple[str, int | None]:
        """(genre name or "", decade or None); an invalid value is no filter."""
        if not self.is_bound or not self.is_valid():
            return "", None
        return self.cleaned_data.get("genre") or "", self.cleaned_data.get("decade")


def picks_chosen(user: AbstractBaseUser, *, genre: str = "", decade: int | None = None) -> list[Pick]:
    """The user's top picks, only of the genre and decade asked for (from their whole stored list)."""
    if not genre and decade is None:
        return recommend_for(user, n=PICKS_COUNT)
    found = recommend_for(user, n=max(PICKS_COUNT, settings.RECOMMENDER_LIST_LENGTH))
    if decade is not None:
        found = [p for p in found if p.movie.year is not None and decade <= p.movie.year < decade + 10]
    if genre:
        names = selectors.movie_genre_names(movie_ids=[p.movie.pk for p in found])
        found = [p for p in found if genre in names[p.movie.pk]]
    return found[:PICKS_COUNT]


@dataclass(frozen=True)
class ReasonRow:
    because: Movie
    picks: list[Pick]


def reason_rows(user: AbstractBaseUser, *, taken: set[int]) -> list[ReasonRow]:
    """Rows of picks that share a reason ("Because you liked Alien"), the fullest rows first.

    From the user's longer list of picks; in each row the movies not already shown (`taken`,
    the top picks) come first, so a row mostly adds to what the page shows. A reason names only
    a movie the user liked (recommend_for decides that).
    """
    by_reason: dict[int, list[Pick]] = defaultdict(list)
    reasons: dict[int, Movie] = {}
    for pick in recommend_for(user, n=settings.RECOMMENDER_LIST_LENGTH):
        if pick.because is not None:
            reasons[pick.because.pk] = pick.because
            by_reason[pick.because.pk].append(pick)
    fullest = sorted(by_reason, key=lambda m: -len(by_reason[m]))
    return [
        ReasonRow(
            because=reasons[m],
            picks=sorted(by_reason[m], key=lambda p: p.movie.pk in taken)[:REASON_ROW_LENGTH],  # stable: best first
        )
        for m in fullest[:REASON_ROWS]
        if len(by_reason[m]) >= REASON_ROW_MIN
    ]


def picks_context(user: AbstractBaseUser, data: object | None = None) -> dict:
    """What the picks block shows: the filter form and the (filtered) picks."""
    form = PicksFilterForm(data or None, genres=selectors.genre_list())  # type: ignore[arg-type]
    genre, decade = form.filters()
    return {
        "picks": picks_chosen(user, genre=genre, decade=decade),
        "picks_form": form,
        "filtered": bool(genre or decade),
    }


def home_picks_context(user: AbstractBaseUser, data: object | None = None, *, rated: int | None = None) -> dict:
    """The picks block of the home page: onboarding progress until ONBOARDING_RATINGS (or groups chosen
    at onboarding, movies.views.pick_groups), then the picks. `rated`: the user's count of ratings,
    when the caller has it already."""
    if rated is None:
        rated = selectors.rating_count_for_user(user=user)
    context = {
        "rated_count": rated,
        "onboarding_ratings": ONBOARDING_RATINGS,
        "to_go": max(ONBOARDING_RATINGS - rated, 0),
    }
    if rated >= ONBOARDING_RATINGS or selectors.group_choice_exists(user=user):
        return {**context, **picks_context(user, data)}
    return {**context, "picks": []}


@login_required
@require_GET
def picks(request: HttpRequest) -> HttpResponse:
    """The picks, filtered: the inside of section#picks for htmx, else a page of its own."""
    context = {**home_picks_context(request.user, request.GET), "next": request.get_full_path()}
    template = "movies/_picks.html" if is_htmx(request) else "movies/picks.html"
    return render(request, template, context)
