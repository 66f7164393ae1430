"""A person's ratings: rate, change or remove a rating, and the list of them.

Write views answer htmx requests (header HX-Request) with a partial to swap in,
and plain form posts (no JavaScript) with a redirect back to where they came from.
After every change to a user's ratings the recommender recomputes their stored list at once.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from movies import selectors, services
from movies.forms import RatingForm, RatingSortForm
from movies.models import Movie
from movies.views.helpers import (
    is_htmx,
    login_required_htmx,
    movie_or_404,
    next_or,
    page_of,
    query_without_page,
    redirect_back,
)
from movies.views.picks import home_picks_context
from recommender.services import user_picks_refresh_logged

RATINGS_PAGE_SIZE = 50


@login_required
@require_GET
def rating_list(request: HttpRequest) -> HttpResponse:
    form = RatingSortForm(request.GET)
    sort = form.sort_key()
    page = page_of(request, selectors.rating_list_for_user(user=request.user, sort=sort), RATINGS_PAGE_SIZE)
    return render(
        request,
        "movies/rating_list.html",
        {
            "form": form,
            "sort": sort,
            "page": page,
            "query_string": query_without_page(request),
            "dismissals": selectors.dismissal_list_for_user(user=request.user)[:100],
        },
    )


@login_required_htmx
@require_POST
def movie_rate(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = movie_or_404(movie_id)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.rating_create_or_update(user=request.user, movie_id=movie.pk, value=form.cleaned_data["value"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            user_picks_refresh_logged(user_id=request.user.pk)
    if not is_htmx(request):
        if form.errors:
            messages.error(request, "That rating was not saved: choose 0.5 to 5 stars.")
        else:
            messages.success(request, f"Rated {movie} {form.cleaned_data['value']:g} stars.")
        return redirect_back(request, movie.get_absolute_url())
    return _rating_widget_response(request, movie, form)


@login_required_htmx
@require_POST
def movie_rating_delete(request: HttpRequest, movie_id: int) -> HttpResponse:
    movie = movie_or_404(movie_id)
    before = selectors.rating_get_for_user(user=request.user, movie_id=movie.pk)
    removed = services.rating_delete(user=request.user, movie_id=movie.pk)
    if removed:
        user_picks_refresh_logged(user_id=request.user.pk)
    if not is_htmx(request):
        if removed:
            messages.success(request, f"Removed your rating of {movie}.")
        return redirect_back(request, movie.get_absolute_url())
    # The widget then offers "Undo", which rates the movie again with the stars it had.
    removed_value = before.value if removed and before is not None else None
    return _rating_widget_response(request, movie, RatingForm(), removed_value=removed_value)


def _rating_widget_response(
    request: HttpRequest, movie: Movie, form: RatingForm, *, removed_value: float | None = None
) -> HttpResponse:
    """The widget after a change; with refresh=picks, also the picks (and onboarding progress) out of band."""
    rating = selectors.rating_get_for_user(user=request.user, movie_id=movie.pk)
    context: dict = {
        "movie": movie,
        "my_value": rating.value if rating else None,
        "removed_value": removed_value,
        "form": form,
        "refresh": request.POST.get("refresh", ""),
        "compact": request.POST.get("compact") == "1",
        "slot": request.POST.get("slot", ""),
        "next": next_or(request, movie.get_absolute_url()),
    }
    if context["refresh"] == "picks" and not form.errors:
        context["oob"] = True
        # The picks block as it is filtered on the page (the widget sends the filter form along).
        context.update(home_picks_context(request.user, request.POST))
    return render(request, "movies/_rating_widget.html", context, status=422 if form.errors else 200)
