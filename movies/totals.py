"""A movie's rating totals (count, sum, mean): the O(1) change each write adds, and the exact recount that checks them.

Each rating write adds its change to the movie row in one UPDATE (count + 1, sum + stars), so a
write never reads the movie's other ratings and the movie row is locked only by that one
statement until its transaction commits. Half stars add exactly in a double (multiples of 0.5
far below 2**53), so the sum never drifts by rounding; the mean is sum / count, rounded to 4
places as the importer stores it. Anything that bypasses the services (a bulk delete, a cascade
from a deleted account, a hand edit) can still leave totals wrong: `movie_totals_recount`
finds and repairs those, and the nightly retrain runs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, FloatField, Value
from django.db.models.functions import Greatest, NullIf, Round

from movies.models import Movie, Rating
from movies.row_cache import movie_rows_forget

log = logging.getLogger(__name__)

# Movie.ratings_mean is stored rounded to 4 places, by the importer and by every write.
MEAN_DECIMALS = 4


@dataclass(frozen=True)
class Drift:
    """One movie whose stored totals disagreed with its ratings."""

    movie_id: int
    stored_count: int
    stored_sum: float
    count: int
    sum: float


def movie_totals_add(*, movie_id: int, count: int, total: float) -> bool:
    """Add `count` ratings summing to `total` stars to a movie's totals; False when there is no such movie.

    Call it last in the write's transaction: the UPDATE locks the movie row until the commit,
    so other raters of the movie wait only for that commit, not for the rest of the request.
    """
    return movie_totals_add_each(movie_ids=[movie_id], count=count, total=total) > 0


def movie_totals_add_each(*, movie_ids: list[int], count: int, total: float) -> int:
    """Add the same change to each of these movies' totals in one UPDATE; returns how many movies there were.

    Taking an account's ratings off needs one statement per distinct star value (at most ten),
    since each movie loses exactly one rating of that value.
    """
    # Never below zero, even over totals that had drifted: the nightly recount repairs those.
    new_count = Greatest(F("ratings_count") + Value(count), Value(0))
    new_sum = F("ratings_sum") + Value(float(total))
    mean = Round(new_sum / NullIf(new_count, Value(0)), MEAN_DECIMALS, output_field=FloatField())
    changed = Movie.objects.filter(pk__in=movie_ids).update(
        ratings_count=new_count, ratings_sum=new_sum, ratings_mean=mean
    )
    movie_rows_forget(movie_ids)
    return changed


def mean_sql(total: str, count: str) -> str:
    """SQL for the stored mean of `total` / `count` (expressions), rounded as every write rounds it."""
    if connection.vendor == "postgresql":
        return f"round(CAST(({total}) / NULLIF({count}, 0) AS numeric), {MEAN_DECIMALS})"
    return f"round(CAST(({total}) AS REAL) / NULLIF({count}, 0), {MEAN_DECIMALS})"


def movie_totals_recount(*, movie_table: str | None = None, rating_table: str | None = None) -> list[Drift]:
    """Recount every movie's totals from its ratings; repair and return those that had drifted.

    1. One statement compares each movie's stored count and sum with an aggregate of its
       ratings: both come from the same snapshot, so the difference is exact even while
       people keep rating.
    2. Each drifted movie gets the difference added (not the recounted value written), so a
       rating committed between the two statements keeps its own change.
    """
    movie = connection.ops.quote_name(movie_table or Movie._meta.db_table)
    rating = connection.ops.quote_name(rating_table or Rating._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id, m.ratings_count, m.ratings_sum, COALESCE(s.n, 0), COALESCE(s.total, 0) "  # noqa: S608
            f"FROM {movie} m LEFT JOIN (SELECT movie_id, count(*) AS n, sum(value) AS total FROM {rating} "
            f"GROUP BY movie_id) s ON s.movie_id = m.id "
            f"WHERE m.ratings_count <> COALESCE(s.n, 0) OR m.ratings_sum <> COALESCE(s.total, 0) "
            f"OR m.ratings_mean IS NULL AND s.n > 0 OR m.ratings_mean IS NOT NULL AND s.n IS NULL "
            f"OR m.ratings_mean <> {mean_sql('s.total', 's.n')} "
            f"ORDER BY m.id"
        )
        drifts = [Drift(*row) for row in cursor.fetchall()]
        for drift in drifts:
            count, total = drift.count - drift.stored_count, drift.sum - drift.stored_sum
            cursor.execute(
                f"UPDATE {movie} SET ratings_count = ratings_count + %s, ratings_sum = ratings_sum + %s, "  # noqa: S608
                f"ratings_mean = {mean_sql('ratings_sum + %s', 'ratings_count + %s')} WHERE id = %s",
                [count, total, total, count, drift.movie_id],
            )
    movie_rows_forget(drift.movie_id for drift in drifts)
    return drifts


def movie_totals_check() -> int:
    """The nightly check: recount every movie's totals, log and repair any drift; returns how many drifted."""
    drifts = movie_totals_recount()
    for drift in drifts[:20]:
        log.warning(
            "movie %s: stored %s ratings summing to %s, its ratings say %s summing to %s: repaired",
            drift.movie_id,
            drift.stored_count,
            drift.stored_sum,
            drift.count,
            drift.sum,
        )
    if drifts:
        log.warning("movie totals: %d movie(s) had drifted from their ratings and were repaired", len(drifts))
    else:
        log.info("movie totals: every movie's count and sum match its ratings")
    return len(drifts)
