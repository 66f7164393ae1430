"""Getting started: "haven't seen it" on the onboarding cards, so a new user only rates what they know.

A skipped movie leaves the onboarding groups for good and the picks for a while (picks_queries.SKIP_DAYS).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from movies import services
from movies.views.helpers import is_htmx, login_required_htmx, movie_or_404, redirect_back
from recommender.services import user_picks_refresh_logged


@login_required_htmx
@require_POST
def movie_skip(request: HttpRequest, movie_id: int) -> HttpResponse:
    """Note that the user has not seen the movie; htmx takes its card away (an empty answer)."""
    movie = movie_or_404(movie_id)
    services.movie_skip(user=request.user, movie_id=movie.pk)
    user_picks_refresh_logged(user_id=request.user.pk)
    if not is_htmx(request):
        messages.success(request, f"Skipped {movie}: it will not be suggested for now.")
        return redirect_back(request, "/")
    return HttpResponse("")
