"""The catalogue: the home page, the movie list with its filters, and a movie's page."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from movies import selectors
from movies.forms import DEFAULT_MIN_RATINGS, MovieFilterForm
from movies.models import Genre, Movie
from movies.row_cache import movie_row_store
from movies.views.frame import page_response
from movies.views.helpers import page_of, query_without_page
from movies.views.pick_groups import pick_groups_context
from movies.views.picks import ONBOARDING_RATINGS, home_picks_context, picks_context, reason_rows
from recommender import cache_keys, dispatch
from recommender.services import similar_to
from recommender.services.explore import active_explore
from recommender.services.impressions import Source, shown_mark
from recommender.services.picks import UserMarks, reading_once
from recommender.services.predictions import PredictedOrder, predicted_order, predicted_page_order
from recommender.services.sections import (
    CSRF_PLACEHOLDER,
    MoviePageRead,
    UserPageSide,
    csrf_token_of,
    genre_top_cards,
    movie_page_parts,
    movie_page_read,
    movie_page_user,
    movie_section_store,
    personal_section,
    personal_section_store,
)
from recommender.services.shown import section_picks_shown, section_similar_shown

PAGE_SIZE = 24
# Lists ordered by average rating ignore movies with fewer ratings than this.
TOP_RATED_MIN_RATINGS = 50
ONBOARDING_GENRES = ["Comedy", "Drama", "Action", "Animation", "Sci-Fi", "Romance", "Horror", "Documentary"]
FAVOURITE_GENRE_ROWS = 3
GENRE_ROW_LENGTH = 10
# Each genre's top list for everybody: enough candidates that most users keep a full row after
# their own movies are taken out, refreshed every few minutes (averages move slowly).
GENRE_TOP_CANDIDATES = 60
GENRE_TOP_SECONDS = 600
SIMILAR_COUNT = 12
# The home page says how many movies and ratings there are; a few minutes late is fine.
CATALOGUE_TOTALS_SECONDS = 600


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(
            request,
            "movies/home.html",
            {
                "top_rated": selectors.movie_list_top_rated(min_ratings=TOP_RATED_MIN_RATINGS, limit=12),
                "popular": selectors.movie_list_most_rated(limit=12),
                "min_ratings": TOP_RATED_MIN_RATINGS,
                "totals": cache.get_or_set(
                    cache_keys.catalogue_totals(), selectors.catalogue_totals, CATALOGUE_TOTALS_SECONDS
                ),
            },
        )
    user = request.user
    refresh = (
        (lambda: dispatch.home_section_refresh(user_id=user.pk)) if dispatch.sections_refresh_in_worker() else None
    )
    content = personal_section(request, "home", lambda extra: _home_section_render(user, extra), refresh)
    section_picks_shown(user_id=user.pk, source=Source.HOME, html=content)
    return page_response(request, title="Your picks", content=content)


def _home_section_render(user: AbstractBaseUser, extra: dict) -> str:
    """The personal home page's content as the section cache keeps it: rendered from the user alone
    (no request), so a page and a worker's refresh (home_section_store) render the same."""
    with reading_once():  # the picks and the rows come from one read of the user's list
        context = {**_personal_home_context(user), **extra, "user": user, "next": reverse("home"), "in_section": True}
    html = render_to_string("movies/_home_personal.html", context)
    rows = [p for row in context.get("reason_rows", ()) for p in row.picks]
    return html + shown_mark(dict.fromkeys(p.movie.pk for p in [*context.get("picks", ()), *rows]))


def home_section_store(user: AbstractBaseUser) -> None:
    """Render the user's home page section now and store it (movies.tasks: a stale one's refresh)."""
    personal_section_store(user_id=user.pk, name="home", render=lambda extra: _home_section_render(user, extra))


def _personal_home_context(user: AbstractBaseUser) -> dict:
    rated = selectors.rating_count_for_user(user=user)
    context: dict = {"rated_count": rated, "onboarding_ratings": ONBOARDING_RATINGS}
    if rated < ONBOARDING_RATINGS:
        context["to_go"] = ONBOARDING_RATINGS - rated
        groups = selectors.movie_groups_well_known(
            genre_names=ONBOARDING_GENRES, exclude=selectors.skipped_movie_ids(user=user)
        )
        ids = [m.pk for g in groups for m in g.movies]
        context["onboarding_groups"] = groups
        context["my_values"] = selectors.rating_values_for_user(user=user, movie_ids=ids)
        context.update(pick_groups_context(user))
        if context.get("groups_chosen"):
            context.update(picks_context(user))
        return context
    context.update(home_picks_context(user, rated=rated))
    shown = {p.movie.pk for p in context["picks"]}
    context["reason_rows"] = reason_rows(user, taken=shown)
    genres = selectors.genre_list_rated_highly_by_user(user=user, limit=FAVOURITE_GENRE_ROWS)
    context["genre_rows"] = _genre_rows(user, genres)
    return context


def _genre_rows(user: AbstractBaseUser, genres: list[Genre]) -> list[tuple[Genre, list[tuple[int, SafeString]]]]:
    """The best rated movies of each genre that the user has neither rated nor dismissed, as cards,
    each movie in the first genre's row that has it.

    Each genre's top list is the same for everybody (the section cache keeps it as rendered
    cards, since a card here shows nothing of the user); the user's own movies are taken out
    here, with one query over the candidates. Only a user who has seen every candidate of a
    genre costs that genre's full query and renders its cards.

    Returns:
        [(genre, [(movie id, card html)])], best rated first.
    """
    tops = genre_top_cards(
        genre_ids=[genre.pk for genre in genres],
        min_ratings=TOP_RATED_MIN_RATINGS,
        build=lambda genre_id: _movie_cards(
            selectors.movie_list_top_in_genre(
                genre_id=genre_id, min_ratings=TOP_RATED_MIN_RATINGS, limit=GENRE_TOP_CANDIDATES
            )
        ),
        seconds=GENRE_TOP_SECONDS,
    )
    seen = selectors.movie_ids_seen_by_user(user=user, movie_ids={pk for top in tops.values() for pk, _ in top})
    rows = []
    for genre in genres:
        unseen = [card for card in tops[genre.pk] if card[0] not in seen][:GENRE_ROW_LENGTH]
        seen |= {pk for pk, _ in unseen}
        if len(unseen) < GENRE_ROW_LENGTH and len(tops[genre.pk]) == GENRE_TOP_CANDIDATES:
            unseen = _movie_cards(
                selectors.movie_list_top_in_genre_unseen(
                    user=user, genre=genre, min_ratings=TOP_RATED_MIN_RATINGS, limit=GENRE_ROW_LENGTH
                )
            )
        rows.append((genre, [(pk, mark_safe(html)) for pk, html in unseen]))  # noqa: S308 (our own template)
    return rows


def _movie_cards(movies: Iterable[Movie]) -> list[tuple[int, str]]:
    """(id, card html) of each movie as everybody sees it: stars to rate it (the user's own movies are
    left out of these rows), a rating refreshes the picks; the CSRF token is filled in per request."""
    template = get_template("movies/_movie_card.html")
    context = {"can_rate": True, "refresh": "picks", "slot": "g", "show_save": True, "next": reverse("home")}
    return [
        (movie.pk, template.render({**context, "movie": movie, "csrf_token": CSRF_PLACEHOLDER})) for movie in movies
    ]


@require_GET
def movie_list(request: HttpRequest) -> HttpResponse:
    genres = selectors.genre_list()
    data = request.GET.copy()
    # Defaults written into the data so the form shows what applies.
    data.setdefault("min_ratings", str(DEFAULT_MIN_RATINGS))
    data.setdefault("sort", "relevance" if data.get("q", "").strip() else "rating")
    form = MovieFilterForm(data, genres=genres)
    search = form.search_kwargs()
    order = predicted_order(request.user) if search["sort"] == "predicted" else None
    predicted: dict[int, float] = {}
    if order is None:
        if search["sort"] == "predicted":  # anonymous, no ratings or no model: nothing personal to sort by
            search["sort"] = "rating"
        page = page_of(request, selectors.movie_search(**search), PAGE_SIZE)
    else:
        page, predicted = _predicted_page(request, selectors.movie_search(**search), order)
    ids = [m.pk for m in page]
    return render(
        request,
        "movies/movie_list.html",
        {
            "form": form,
            "page": page,
            "query_string": query_without_page(request),
            "my_values": selectors.rating_values_for_user(user=request.user, movie_ids=ids),
            "dismissed": selectors.dismissed_movie_ids(user=request.user, movie_ids=ids),
            "saved": selectors.watchlist_movie_ids(user=request.user, movie_ids=ids),
            "predicted": predicted,
        },
    )


def _predicted_page(
    request: HttpRequest, movies: QuerySet[Movie], order: PredictedOrder
) -> tuple[Page, dict[int, float]]:
    """One page of the filtered movies ranked by the user's predicted stars.

    The ranking is the recommender's (predicted_page_order over the filtered ids, one query
    of integers); the database then gives one page of movies, so the cost stays bounded
    whatever the catalogue's size.
    """
    ids, star_of = predicted_page_order(order, movies.order_by().values_list("pk", flat=True))
    page = Paginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
    by_id = movies.order_by().in_bulk(list(page.object_list))
    page.object_list = [by_id[i] for i in page.object_list if i in by_id]
    return page, {m.pk: star_of[m.pk] for m in page.object_list if m.pk in star_of}


@require_GET
def movie_detail(request: HttpRequest, movie_id: int) -> HttpResponse:
    read = movie_page_read(request.user, movie_id)
    person = movie_page_user(read, request.user)
    try:
        movie = _movie_with_marks(read, request.user, movie_id, person)
    except Movie.DoesNotExist:
        raise Http404("No such movie") from None
    refresh = (
        (lambda: dispatch.movie_section_refresh(movie_id=movie.pk)) if dispatch.sections_refresh_in_worker() else None
    )
    about, stars = movie_page_parts(
        read, movie, lambda: _movie_about(movie), lambda: _movie_histogram(movie), refresh, person
    )
    # Forms in the parts cached for everybody carry a placeholder for this session's token, and the
    # similar movies' stars are unset there: the person's own come along as JSON (static/js/site.js).
    if read.has_about():
        my_stars = movie.my_values
    else:  # the parts were rendered just now: their similar movies were not known to the movie's query
        similar_ids = [int(i) for i in about.get("similar_ids", "").split(",") if i]
        my_stars = selectors.rating_values_for_user(user=request.user, movie_ids=similar_ids)
    section_similar_shown(user_id=request.user.pk, html=about["model"])
    context = {
        "movie": movie,
        "about": about,
        "predicted_stars": stars,
        "my_value": movie.my_value,
        "is_dismissed": movie.is_dismissed,
        "is_saved": movie.is_saved,
        "my_stars": my_stars,
        "next": movie.get_absolute_url(),
        "user": request.user,
        "csrf_token": CSRF_PLACEHOLDER,  # the panel of the person's rating is kept rendered with it
    }
    # Without the request: the template reads nothing else of it, and its context processors cost time.
    html = render_to_string("movies/_movie_page.html", context).replace(CSRF_PLACEHOLDER, csrf_token_of(request))
    return page_response(request, title=str(movie), content=mark_safe(html))  # noqa: S308 (our own templates)


def _movie_with_marks(
    read: MoviePageRead, user: AbstractBaseUser | AnonymousUser, movie_id: int, person: UserPageSide | None
) -> Movie:
    """The movie with the user's stars (`my_value`), `is_dismissed`, `is_saved` and `my_values` (their stars
    of the similar movies the cached parts show): from the page's cache read when it holds the row and
    the user's marks, else from the database (its row then kept)."""
    if person is None and user.is_authenticated:  # no model serves them: marks come with the row
        movie = selectors.movie_get_for_user(movie_id=movie_id, user=user, rated_among=read.similar_ids())
        movie_row_store(movie)
        return movie
    cached = read.movie()
    if cached is None:
        movie = Movie.objects.get(pk=movie_id)
        movie_row_store(movie)
    else:
        movie = cached
    marks = person[1] if person is not None else UserMarks({}, frozenset(), frozenset())
    movie.my_value = marks.stars.get(movie.pk)  # type: ignore[attr-defined]
    movie.is_dismissed = movie.pk in marks.dismissed  # type: ignore[attr-defined]
    movie.is_saved = movie.pk in marks.saved  # type: ignore[attr-defined]
    movie.my_values = {m: marks.stars[m] for m in sorted(read.similar_ids()) if m in marks.stars}  # type: ignore[attr-defined]
    return movie


def _movie_about(movie: Movie) -> dict[str, str]:
    """What the movie page shows everybody under the active version: genres, group, similar movies (with
    stars to rate them), tags, and TMDb's plot and poster when fetched."""
    explore = active_explore()
    cluster = explore.by_label.get(explore.cluster_of.get(movie.pk, -1)) if explore else None
    similar = [other for other, _ in similar_to(movie, n=SIMILAR_COUNT)]
    genres = selectors.movie_genre_names(movie_ids=[movie.pk])[movie.pk]
    model = {"movie": movie, "cluster": cluster, "similar": similar, "csrf_token": CSRF_PLACEHOLDER}
    return {
        "genres": render_to_string("movies/_movie_genres.html", {"genres": genres}),
        "model": render_to_string("movies/_movie_model.html", model) + shown_mark(m.pk for m in similar),
        "similar_ids": ",".join(str(other.pk) for other in similar),
        "tags": render_to_string("movies/_movie_tags.html", {"tags": selectors.movie_tag_list(movie_id=movie.pk)}),
        "tmdb": render_to_string("movies/_movie_tmdb.html", {"tmdb": selectors.tmdb_details_get(movie_id=movie.pk)}),
    }


def movie_about_store(movie: Movie) -> None:
    """Render the shared parts of the movie's page now and store them (movies.tasks: stale parts' refresh)."""
    movie_section_store(movie_id=movie.pk, render_about=lambda: _movie_about(movie))


def _movie_histogram(movie: Movie) -> str:
    """How the movie's ratings spread over the half stars, as everybody sees it."""
    return render_to_string(
        "movies/_movie_histogram.html", {"movie": movie, "bars": selectors.movie_rating_histogram(movie_id=movie.pk)}
    )
