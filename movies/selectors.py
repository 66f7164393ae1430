"""Reads of the catalogue, which views and the recommender call instead of raw querysets.

Each selector owns its select_related/prefetch_related, so a page that lists
movies costs a fixed number of queries however long the list is.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.lookups import TrigramWordSimilar
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Func,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import RowNumber

from movies.models import (
    RATING_VALUES,
    Dismissal,
    Genre,
    GroupChoice,
    Movie,
    Rating,
    Skip,
    Tag,
    TmdbDetails,
    WatchlistEntry,
)
from movies.sql_names import among, column, table
from movies.titles import natural_title, search_text

AnyUser = User | AnonymousUser
# What keeps a movie out of a user's rows of suggestions (movie_ids_seen_by_user).
SEEN_MODELS: tuple[type[Model], ...] = (Rating, Dismissal, WatchlistEntry, Skip)

# How a movie list can be ordered: name -> ORDER BY. "rating" also needs a minimum count (movie_search).
MOVIE_SORTS = {
    "rating": [F("ratings_mean").desc(nulls_last=True), "-ratings_count", "title"],
    "count": ["-ratings_count", "title"],
    "title": ["title", "year"],
    "newest": [F("year").desc(nulls_last=True), "-ratings_count"],
}
RATING_SORTS = {
    "newest": ["-rated_at", "-id"],
    "oldest": ["rated_at", "id"],
    "highest": ["-value", "-rated_at", "-id"],
    "lowest": ["value", "-rated_at", "-id"],
    "title": ["movie__title", "movie__year", "id"],
}


def genre_list() -> list[Genre]:
    return list(Genre.objects.order_by("name"))


def catalogue_totals() -> dict[str, int]:
    """How many movies there are and how many ratings they have, from the movies' stored totals."""
    found = Movie.objects.aggregate(movies=Count("pk"), ratings=Sum("ratings_count"))
    return {"movies": found["movies"] or 0, "ratings": found["ratings"] or 0}


def movie_get(*, movie_id: int, with_genres: bool = True) -> Movie:
    movies = Movie.objects.prefetch_related("genres") if with_genres else Movie.objects
    return movies.get(pk=movie_id)


def movie_list_most_rated(*, limit: int = 20) -> QuerySet[Movie]:
    return Movie.objects.prefetch_related("genres").order_by("-ratings_count", "title")[:limit]


def movie_list_top_rated(*, min_ratings: int, limit: int = 20) -> QuerySet[Movie]:
    """The best average ratings among movies with at least min_ratings ratings."""
    return (
        Movie.objects.prefetch_related("genres")
        .filter(ratings_count__gte=max(min_ratings, 1))
        .order_by(*MOVIE_SORTS["rating"])[:limit]
    )


def movie_search(
    *,
    query: str = "",
    genre: Genre | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    sort: str = "rating",
    min_ratings: int = 0,
) -> QuerySet[Movie]:
    """Movies matching a title search and filters, ordered by sort (a key of MOVIE_SORTS, or "relevance").

    Sorting by average rating leaves out movies with fewer than min_ratings
    ratings, where a single 5-star rating would otherwise top the list.
    The title search ignores a leading article and tolerates typos (title_matching);
    "relevance" orders its matches best match first, then most rated.
    """
    movies = Movie.objects.prefetch_related("genres")
    if query.strip():
        movies = title_matching(movies, query)
    elif sort == "relevance":
        sort = "rating"
    if genre is not None:
        movies = movies.filter(genres=genre)
    if year_from is not None:
        movies = movies.filter(year__gte=year_from)
    if year_to is not None:
        movies = movies.filter(year__lte=year_to)
    if sort == "rating":
        movies = movies.filter(ratings_count__gte=max(min_ratings, 1))
    if sort == "relevance":
        return movies.order_by("-match", "-ratings_count", "title")
    return movies.order_by(*MOVIE_SORTS.get(sort, MOVIE_SORTS["rating"]))


# pg_trgm's default word_similarity_threshold: "godfathr" (0.78) matches "Godfather, The", "matrix" misses "Mask".
TITLE_MATCH_THRESHOLD = 0.6


def title_matching(movies: QuerySet[Movie], query: str) -> QuerySet[Movie]:
    """The movies whose title matches the query best, annotated with `match` (trigram word similarity).

    A leading article is dropped ("the matrix" finds "Matrix, The"). Then the first of these that
    finds anything decides: titles holding the query as typed ("movie 3" is not "movie 13"),
    titles holding all its words in any order ("star wars episode iv"), titles close to it by
    trigrams ("godfathr"). WORD_SIMILARITY is pg_trgm's on PostgreSQL (migration 0005) and
    movies.titles.word_similarity on SQLite (registered in apps.py).
    """
    text = search_text(query)
    if not text:
        return movies.none()
    phrase = Q(title__icontains=text)
    words = Q()
    for word in text.split():
        words &= Q(title__icontains=word)
    movies = movies.annotate(match=Func(Value(text), F("title"), function="WORD_SIMILARITY", output_field=FloatField()))
    for exact in (phrase, words):
        if movies.filter(exact).exists():
            return movies.filter(exact)
    if connection.vendor == "postgresql":
        # The %> operator (the same measure at pg_trgm's threshold) can use the title's trigram index.
        return movies.filter(TrigramWordSimilar(F("title"), Value(text)))
    return movies.filter(match__gte=TITLE_MATCH_THRESHOLD)


@dataclass(frozen=True)
class MovieGroup:
    genre: Genre
    movies: list[Movie]


def movie_groups_well_known(
    *, genre_names: Iterable[str], per_group: int = 6, exclude: Iterable[int] = ()
) -> list[MovieGroup]:
    """The most rated movies of a few genres, each movie in one group only; one query.

    Onboarding shows these so a new user finds movies they have seen across
    different tastes. A movie in several of the genres goes to the first group
    that lists it, so groups may come out a little shorter than per_group. Movies in `exclude`
    (those the user skipped as not seen) leave room for the next best known.
    """
    names = list(genre_names)
    skipped = set(exclude)
    through = Movie.genres.through
    rows = (
        through.objects.filter(genre__name__in=names)
        .select_related("movie", "genre")
        .annotate(
            rank=Window(
                RowNumber(), partition_by=F("genre_id"), order_by=[F("movie__ratings_count").desc(), F("movie_id")]
            )
        )
        .filter(rank__lte=per_group * 2 + len(skipped))
        .order_by("genre__name", "rank")
    )
    by_genre: dict[str, MovieGroup] = {}
    seen: set[int] = set(skipped)
    for row in rows:
        group = by_genre.setdefault(row.genre.name, MovieGroup(genre=row.genre, movies=[]))
        if row.movie_id in seen or len(group.movies) >= per_group or not row.movie.ratings_count:
            continue
        seen.add(row.movie_id)
        group.movies.append(row.movie)
    return [by_genre[name] for name in names if name in by_genre and by_genre[name].movies]


def genre_list_rated_highly_by_user(
    *, user: User, limit: int = 3, min_mean: float = 3.5, min_rated: int = 2, recent: int = 200
) -> list[Genre]:
    """The genres the user rates highly: of their last `recent` ratings, the genres with at least
    min_rated movies whose average is min_mean or more and at least the user's own average,
    best average first. A genre they rate often but low never gets a row.
    """
    with connection.cursor() as cursor:
        cursor.execute(_genres_of_recent_ratings_sql(), [user.pk, recent])
        rows = cursor.fetchall()
    totals = {(genre_id, name): (float(stars), int(n)) for genre_id, name, stars, n in rows}
    overall_stars, overall_n = totals.pop((None, None), (0.0, 0))
    if not overall_n:
        return []
    overall = overall_stars / overall_n
    by_genre = {key: (stars / n, n) for key, (stars, n) in totals.items()}
    liked = [
        (mean, n, genre_id, name)
        for (genre_id, name), (mean, n) in by_genre.items()
        if n >= min_rated and mean >= max(min_mean, overall)
    ]
    liked.sort(key=lambda row: (-row[0], -row[1], row[3]))
    return [Genre(id=genre_id, name=name) for _, _, genre_id, name in liked[:limit]]


@cache
def _genres_of_recent_ratings_sql() -> str:
    """(genre id, name, stars added up, ratings) of each genre over the user's last N ratings, and a
    row (NULL, NULL, stars, ratings) over all of them; parameters: the user, N. Built in the database:
    through the ORM the genres of 200 movies cost a sixth of a home section's render."""
    rating, through, genre = table(Rating), table(Movie.genres.through), table(Genre)
    return (
        f"WITH recent AS (SELECT {column(Rating, 'movie')} AS movie_id, {column(Rating, 'value')} AS stars "  # noqa: S608
        f"FROM {rating} WHERE {column(Rating, 'user')} = %s ORDER BY {column(Rating, 'rated_at')} DESC LIMIT %s) "
        f"SELECT g.{column(Genre, 'id')}, g.{column(Genre, 'name')}, SUM(r.stars), COUNT(*) FROM recent r "
        f"JOIN {through} mg ON mg.{column(Movie.genres.through, 'movie')} = r.movie_id "
        f"JOIN {genre} g ON g.{column(Genre, 'id')} = mg.{column(Movie.genres.through, 'genre')} "
        f"GROUP BY g.{column(Genre, 'id')}, g.{column(Genre, 'name')} "
        f"UNION ALL SELECT NULL, NULL, SUM(stars), COUNT(*) FROM recent"
    )


def movie_list_top_in_genre_unseen(*, user: User, genre: Genre, min_ratings: int, limit: int = 10) -> QuerySet[Movie]:
    """The best rated movies of a genre that the user has not rated, dismissed or saved for later."""
    return (
        Movie.objects.filter(genres=genre, ratings_count__gte=max(min_ratings, 1))
        .alias(
            rated=Exists(Rating.objects.filter(user=user, movie=OuterRef("pk"))),
            dismissed=Exists(Dismissal.objects.filter(user=user, movie=OuterRef("pk"))),
            saved=Exists(WatchlistEntry.objects.filter(user=user, movie=OuterRef("pk"))),
        )
        .filter(rated=False, dismissed=False, saved=False)
        .order_by(*MOVIE_SORTS["rating"])[:limit]
    )


def movie_list_top_in_genre(*, genre_id: int, min_ratings: int, limit: int) -> list[Movie]:
    """The best rated movies of a genre, for everybody (the home page caches it and filters per user)."""
    return list(
        Movie.objects.filter(genres=genre_id, ratings_count__gte=max(min_ratings, 1)).order_by(*MOVIE_SORTS["rating"])[
            :limit
        ]
    )


def movie_ids_seen_by_user(*, user: AnyUser, movie_ids: Iterable[int]) -> set[int]:
    """Which of movie_ids the user rated, marked "not interested", saved for later or skipped, in one query.

    Fixed SQL: for a home page's candidates (a few hundred ids), preparing the two IN lists
    through the ORM would cost more than the query itself.
    """
    ids = sorted({int(m) for m in movie_ids})
    if not user.is_authenticated or not ids:
        return set()
    parts, params = [], []
    for model in SEEN_MODELS:
        movie_among, movie_params = among(column(model, "movie"), ids)
        parts.append(
            f"SELECT {column(model, 'movie')} FROM {table(model)} "  # noqa: S608 (names from _meta only)
            f"WHERE {column(model, 'user')} = %s AND {movie_among}"
        )
        params += [user.pk, *movie_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ".join(parts), params)
        return {movie_id for (movie_id,) in cursor.fetchall()}


def movie_get_for_user(*, movie_id: int, user: AnyUser, rated_among: Sequence[int] = ()) -> Movie:
    """The movie with the user's stars (`my_value`, None if unrated), `is_dismissed`, `is_saved`
    (on their watchlist) and `my_values` (their stars of the movies `rated_among`, id -> stars), in
    one query.

    For a logged-in user it is fixed SQL: building the same query through annotate(Subquery,
    Exists) would cost more CPU than the rest of the movie page's view, and a second query for the
    ratings of the page's other movies (its similar movies) about as much again.
    """
    among = sorted({int(m) for m in rated_among})
    if not user.is_authenticated:
        movie = Movie.objects.get(pk=movie_id)
        movie.my_value, movie.is_dismissed, movie.is_saved = None, False, False  # type: ignore[attr-defined]
        movie.my_values = {}  # type: ignore[attr-defined]
        return movie
    with connection.cursor() as cursor:
        among_params = [user.pk, *among] if among else []
        cursor.execute(
            _movie_for_user_sql(connection.vendor, len(among)), [user.pk, user.pk, user.pk, *among_params, movie_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise Movie.DoesNotExist(f"No movie with id {movie_id}.")
    movie = Movie.from_db(connection.alias, _MOVIE_FIELDS, row[:-4])
    movie.my_value, movie.is_dismissed, movie.is_saved = row[-4], bool(row[-3]), bool(row[-2])  # type: ignore[attr-defined]
    movie.my_values = _pairs_parsed(row[-1])  # type: ignore[attr-defined]
    return movie


def _pairs_parsed(text: str | None) -> dict[int, float]:
    """ "12:4.5,30:3" -> {12: 4.5, 30: 3.0}."""
    if not text:
        return {}
    pairs = (pair.split(":") for pair in text.split(","))
    return {int(movie_id): float(value) for movie_id, value in pairs}


_MOVIE_FIELDS = [f.attname for f in Movie._meta.concrete_fields]


@cache
def _movie_for_user_sql(vendor: str, n_among: int) -> str:
    """Every column of the movie, then the user's rating value, whether they dismissed it and saved it,
    and their ratings of n_among other movies as "id:stars,...". Only names from the models' _meta are
    formatted in; the values are parameters."""
    movie_id = f"m.{column(Movie, 'id')}"
    concat = "string_agg" if vendor == "postgresql" else "group_concat"
    if n_among:
        marks = ", ".join(["%s"] * n_among)
        among = (
            f"(SELECT {concat}(CAST(o.{column(Rating, 'movie')} AS TEXT) || ':' || "  # noqa: S608 (names only)
            f"CAST(o.{column(Rating, 'value')} AS TEXT), ',') FROM {table(Rating)} o "
            f"WHERE o.{column(Rating, 'user')} = %s AND o.{column(Rating, 'movie')} IN ({marks}))"
        )
    else:
        among = "NULL"
    return (
        f"SELECT {', '.join(f'm.{column(Movie, f)}' for f in _MOVIE_FIELDS)}, "  # noqa: S608
        f"(SELECT r.{column(Rating, 'value')} FROM {table(Rating)} r "
        f"WHERE r.{column(Rating, 'user')} = %s AND r.{column(Rating, 'movie')} = {movie_id}), "
        f"EXISTS (SELECT 1 FROM {table(Dismissal)} d "
        f"WHERE d.{column(Dismissal, 'user')} = %s AND d.{column(Dismissal, 'movie')} = {movie_id}), "
        f"EXISTS (SELECT 1 FROM {table(WatchlistEntry)} w "
        f"WHERE w.{column(WatchlistEntry, 'user')} = %s AND w.{column(WatchlistEntry, 'movie')} = {movie_id}), "
        f"{among} "
        f"FROM {table(Movie)} m WHERE {movie_id} = %s"
    )


@dataclass(frozen=True)
class GenreStats:
    genre_id: int
    name: str
    movies: int
    ratings: int
    mean: float | None  # the average of every rating of the genre's movies


def genre_stats_list() -> list[GenreStats]:
    """Per genre: movies, ratings and the average rating, from the movies' denormalised totals.

    One query over the movie-genre links: no scan of the ratings table, so it
    costs the same on 100k ratings as on 32 million.
    """
    rows = (
        Movie.genres.through.objects.values("genre_id", "genre__name")
        .annotate(
            movies=Count("movie_id"),
            ratings=Sum("movie__ratings_count"),
            weighted=Sum(F("movie__ratings_mean") * F("movie__ratings_count"), output_field=FloatField()),
        )
        .order_by("genre__name")
    )
    return [
        GenreStats(
            genre_id=row["genre_id"],
            name=row["genre__name"],
            movies=row["movies"],
            ratings=row["ratings"] or 0,
            mean=(row["weighted"] / row["ratings"]) if row["ratings"] else None,
        )
        for row in rows
    ]


def movie_tag_list(*, movie_id: int, limit: int = 30) -> list[dict]:
    """The movie's most used tags as {"text", "uses"}, however many users tagged it."""
    return list(
        Tag.objects.filter(movie_id=movie_id)
        .values("text")
        .annotate(uses=Count("id"))
        .order_by("-uses", "text")[:limit]
    )


def rating_get_for_user(*, user: AnyUser, movie_id: int) -> Rating | None:
    if not user.is_authenticated:
        return None
    return Rating.objects.filter(user=user, movie_id=movie_id).first()


def rating_count_for_user(*, user: AnyUser) -> int:
    if not user.is_authenticated:
        return 0
    return Rating.objects.filter(user=user).count()


def rating_values_for_user(*, user: AnyUser, movie_ids: Iterable[int]) -> dict[int, float]:
    """The user's ratings of the given movies, as movie id -> stars, in one query."""
    ids = list(movie_ids)
    if not user.is_authenticated or not ids:
        return {}
    return dict(Rating.objects.filter(user=user, movie_id__in=ids).values_list("movie_id", "value"))


def rating_list_for_user(*, user: User, sort: str = "newest") -> QuerySet[Rating]:
    """All of the user's ratings with their movies, ordered by sort (a key of RATING_SORTS)."""
    return (
        Rating.objects.filter(user=user)
        .select_related("movie")
        .order_by(*RATING_SORTS.get(sort, RATING_SORTS["newest"]))
    )


def dismissal_list_for_user(*, user: User) -> QuerySet[Dismissal]:
    return Dismissal.objects.filter(user=user).select_related("movie").order_by("-created_at", "-id")


def dismissed_movie_ids(*, user: AnyUser, movie_ids: Iterable[int] | None = None) -> set[int]:
    """Which movies the user marked "not interested" (of movie_ids, or of all movies)."""
    if not user.is_authenticated:
        return set()
    dismissals = Dismissal.objects.filter(user=user)
    if movie_ids is not None:
        dismissals = dismissals.filter(movie_id__in=list(movie_ids))
    return set(dismissals.values_list("movie_id", flat=True))


def movie_genre_names(*, movie_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each movie's genre names, in one query (for movies loaded without prefetch_related)."""
    ids = list(movie_ids)
    found: dict[int, list[str]] = {movie_id: [] for movie_id in ids}
    if not ids:
        return found
    rows = Movie.genres.through.objects.filter(movie_id__in=ids).order_by("genre__name")
    for movie_id, name in rows.values_list("movie_id", "genre__name"):
        found[movie_id].append(name)
    return found


def movie_in_bulk_brief(*, movie_ids: Iterable[int]) -> dict[int, Movie]:
    """id -> movie with only what a list row shows (title, year, rating totals), one query."""
    return Movie.objects.only("id", "title", "year", "ratings_mean", "ratings_count").in_bulk(list(movie_ids))


def movie_labels(*, movie_ids: Iterable[int]) -> dict[int, str]:
    """id -> "Title (year)", or the title alone when the year is unknown; one query."""
    rows = Movie.objects.filter(pk__in=list(movie_ids)).values_list("pk", "title", "year")
    return {pk: f"{natural_title(t)} ({year})" if year is not None else natural_title(t) for pk, t, year in rows}


def movie_list_most_rated_among(*, movie_ids: Iterable[int], limit: int) -> list[Movie]:
    """The most rated of these movies, then by title."""
    return list(Movie.objects.filter(pk__in=list(movie_ids)).order_by("-ratings_count", "title")[:limit])


def watchlist_for_user(*, user: User) -> QuerySet[WatchlistEntry]:
    """The user's saved movies, last saved first, with their genres."""
    return (
        WatchlistEntry.objects.filter(user=user)
        .select_related("movie")
        .prefetch_related("movie__genres")
        .order_by("-created_at", "-id")
    )


def watchlist_movie_ids(*, user: AnyUser, movie_ids: Iterable[int]) -> set[int]:
    """Which of movie_ids are on the user's watchlist, in one query."""
    ids = list(movie_ids)
    if not user.is_authenticated or not ids:
        return set()
    return set(WatchlistEntry.objects.filter(user=user, movie_id__in=ids).values_list("movie_id", flat=True))


def skipped_movie_ids(*, user: AnyUser) -> set[int]:
    """The movies the user said they have not seen."""
    if not user.is_authenticated:
        return set()
    return set(Skip.objects.filter(user=user).values_list("movie_id", flat=True))


def group_choice_for_user(*, user: AnyUser) -> dict[int, bool]:
    """movie id -> liked, for each movie of the groups the user chose at onboarding."""
    if not user.is_authenticated:
        return {}
    return dict(GroupChoice.objects.filter(user=user).values_list("movie_id", "liked"))


def group_choice_exists(*, user: AnyUser) -> bool:
    """Whether the user chose groups at onboarding."""
    return user.is_authenticated and GroupChoice.objects.filter(user=user).exists()


def movie_in_bulk_with_posters(*, movie_ids: Iterable[int]) -> dict[int, Movie]:
    """Movies by id with their TMDb details (movie.tmdb) when fetched; one query."""
    movies = Movie.objects.filter(pk__in=list(movie_ids)).select_related("tmdb")
    return {movie.pk: movie for movie in movies}


@dataclass(frozen=True)
class StarBar:
    value: float
    count: int
    share: float  # of the movie's ratings, 0 to 1
    height: int  # percent of the tallest bar, for drawing


def movie_rating_histogram(*, movie_id: int) -> list[StarBar]:
    """How many ratings the movie has at each half star, 0.5 to 5 (one query on the movie's ratings)."""
    counts = dict(
        Rating.objects.filter(movie_id=movie_id).values("value").annotate(n=Count("id")).values_list("value", "n")
    )
    total = sum(counts.values())
    tallest = max(counts.values(), default=0)
    return [
        StarBar(
            value=value,
            count=counts.get(value, 0),
            share=counts.get(value, 0) / total if total else 0.0,
            height=round(100 * counts.get(value, 0) / tallest) if tallest else 0,
        )
        for value in RATING_VALUES
    ]


def tmdb_details_get(*, movie_id: int) -> TmdbDetails | None:
    return TmdbDetails.objects.filter(movie_id=movie_id).first()


def movie_list_tagged(*, tag: str, limit: int = 60) -> list[Movie]:
    """The movies tagged `tag` (any letter case), the most tagged with it first, then the most rated;
    each with `tag_uses`."""
    uses = dict(
        Tag.objects.filter(text__iexact=tag).values("movie_id").annotate(n=Count("id")).values_list("movie_id", "n")
    )
    movies = list(Movie.objects.filter(pk__in=list(uses)).prefetch_related("genres"))
    for movie in movies:
        movie.tag_uses = uses[movie.pk]  # type: ignore[attr-defined]
    movies.sort(key=lambda m: (-uses[m.pk], -m.ratings_count, m.title))
    return movies[:limit]
