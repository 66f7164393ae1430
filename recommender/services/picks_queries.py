"""The two reads of every picks call, as fixed SQL rather than ORM querysets.

A picks call is the busiest request of the site and the API, and building these two
queries through the ORM costs several times the CPU of the same reads as fixed SQL (the
database's own work is the same). Table and column names come from the models' _meta, so a renamed field
still lands here, and the SQL is plain enough for SQLite (the embedded default) too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from movies.models import Dismissal, GroupChoice, Movie, Rating, Skip, WatchlistEntry
from movies.sql_names import among, column, table

DISMISSED = -1.0  # the value column of a "not interested" row in user_rows
SAVED = -2.0  # ... of a movie on the watchlist
SKIPPED = -3.0  # ... of a movie skipped as not seen, for SKIP_DAYS
GROUP_LIKED = -4.0  # ... of a movie of a group the user liked at onboarding (GroupChoice)
GROUP_DISLIKED = -5.0  # ... of a movie of a group they called "not for me"
SKIP_DAYS = 30


def user_rows(user_id: int, since: datetime | None) -> list[tuple[int, float, bool]]:
    """(movie id, value, rated after `since`) for each of the user's ratings, and (movie id, DISMISSED,
    False) for each movie they marked "not interested", (.., SAVED, ..) for each on their watchlist and
    (.., SKIPPED, ..) for each they skipped as not seen in the last SKIP_DAYS, (.., GROUP_LIKED or
    GROUP_DISLIKED, ..) for each movie of a group they chose at onboarding; one round trip.

    Every value below 0 is no rating; all but the groups' are movies never to pick."""
    rating = table(Rating)
    # (1 = 0) is false on both PostgreSQL (a boolean, as the comparison) and SQLite (0).
    newer = f"({column(Rating, 'rated_at')} > %s)" if since is not None else "(1 = 0)"
    # Only names from the models' _meta are formatted in; every value is a parameter.
    sql = (
        f"SELECT {column(Rating, 'movie')}, {column(Rating, 'value')}, {newer} FROM {rating} "  # noqa: S608
        f"WHERE {column(Rating, 'user')} = %s"
    )
    params: list[object] = [user_id]
    if since is not None:
        params.insert(0, connection.ops.adapt_datetimefield_value(since))
    for model, value in ((Dismissal, DISMISSED), (WatchlistEntry, SAVED), (Skip, SKIPPED)):
        sql += (
            f" UNION ALL SELECT {column(model, 'movie')}, %s, (1 = 0) FROM {table(model)} "  # noqa: S608
            f"WHERE {column(model, 'user')} = %s"
        )
        params += [value, user_id]
        if model is Skip:
            sql += f" AND {column(Skip, 'created_at')} > %s"
            cutoff = timezone.now() - timedelta(days=SKIP_DAYS)
            params.append(connection.ops.adapt_datetimefield_value(cutoff))
    sql += (
        f" UNION ALL SELECT {column(GroupChoice, 'movie')}, "  # noqa: S608
        f"CASE WHEN {column(GroupChoice, 'liked')} THEN %s ELSE %s END, (1 = 0) "
        f"FROM {table(GroupChoice)} WHERE {column(GroupChoice, 'user')} = %s"
    )
    params += [GROUP_LIKED, GROUP_DISLIKED, user_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(m), float(v), bool(n)) for m, v, n in cursor.fetchall()]


_MOVIE_FIELDS = [f.attname for f in Movie._meta.concrete_fields]


def movies_by_id(ids: Sequence[int]) -> dict[int, Movie]:
    """Movie rows by id (Movie.objects.in_bulk, without building the query each call)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    columns = ", ".join(column(Movie, f) for f in _MOVIE_FIELDS)
    id_among, params = among(column(Movie, "id"), wanted)
    sql = f"SELECT {columns} FROM {table(Movie)} WHERE {id_among}"  # noqa: S608 - names only
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {row[0]: Movie.from_db(connection.alias, _MOVIE_FIELDS, row) for row in rows}
