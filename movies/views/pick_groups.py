"""Onboarding's pick-groups step: a new user marks the groups of movies they like, and those not for
them, submits once, and their picks follow at once (MovieLens' pick-groups onboarding).

The groups come from the active version's clusters (recommender.services.pick_groups); the choice is
stored as GroupChoice rows, never as ratings, and read by the fold-in while the person has few ratings.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from movies import selectors, services
from movies.models import Movie
from movies.views.helpers import is_htmx, login_required_htmx, next_or, redirect_back
from movies.views.picks import home_picks_context
from recommender.services import user_picks_refresh_logged
from recommender.services.pick_groups import PickGroup, pick_groups_offered

LIKE, DISLIKE = "like", "dislike"


@dataclass(frozen=True)
class GroupShown:
    label: int
    name: str
    movies: list[Movie]
    choice: str  # LIKE, DISLIKE or "" (no opinion)


def pick_groups_context(user: AbstractBaseUser) -> dict:
    """What the pick-groups step shows the user: the groups with the user's choice of each; empty
    without groups (no trained version, or none with its clusters)."""
    version_id, groups = pick_groups_offered()
    if not groups:
        return {}
    chosen = selectors.group_choice_for_user(user=user)
    movies = selectors.movie_in_bulk_with_posters(movie_ids={m for g in groups for m in g.shown_ids})
    shown = [
        GroupShown(g.label, g.name, [movies[m] for m in g.shown_ids if m in movies], _choice(g, chosen)) for g in groups
    ]
    return {
        "pick_groups": shown,
        "pick_groups_version": version_id,
        "groups_chosen": bool(chosen),
        "groups_liked": [g.name for g in shown if g.choice == LIKE],
        "groups_disliked": [g.name for g in shown if g.choice == DISLIKE],
    }


def _choice(group: PickGroup, chosen: dict[int, bool]) -> str:
    """The user's stored choice of the group, read from its movies (a group's movies share one)."""
    marks = [chosen[m] for m in group.movie_ids if m in chosen]
    if not marks:
        return ""
    return LIKE if marks[0] else DISLIKE


@login_required_htmx
@require_POST
def pick_groups_save(request: HttpRequest) -> HttpResponse:
    """Store the groups the user marked (replacing any earlier choice) and refresh their picks.

    htmx gets the step back with the choice and the picks out of band; a plain post goes back home.
    The form names the version its groups came from: under another one the labels mean other
    clusters, so nothing is stored and the person sees the new groups.
    """
    version_id, groups = pick_groups_offered()
    if request.POST.get("version") != str(version_id) or not groups:
        saved, status = False, "The groups have changed since this page was shown: please choose again."
    else:
        marks = {g.label: request.POST.get(f"group-{g.label}", "") for g in groups}
        choice = [(g.name, g.movie_ids, marks[g.label] == LIKE) for g in groups if marks[g.label] in (LIKE, DISLIKE)]
        services.group_choice_set(user=request.user, groups=choice)
        user_picks_refresh_logged(user_id=request.user.pk)
        liked = sum(1 for *_, like in choice if like)
        saved, status = True, _saved_status(liked, len(choice) - liked)
    if not is_htmx(request):
        (messages.success if saved else messages.error)(request, status)
        return redirect_back(request, reverse("home"))
    context = {
        **pick_groups_context(request.user),
        **home_picks_context(request.user),
        "pick_groups_status": status,
        "oob": True,
        "next": next_or(request, reverse("home")),
    }
    return render(request, "movies/_pick_groups.html", context)


def _saved_status(liked: int, disliked: int) -> str:
    if not liked and not disliked:
        return "No group chosen: your picks come from your ratings alone."
    return f"Saved: {liked} group{pluralize(liked)} you like, {disliked} not for you. Your picks follow them."
