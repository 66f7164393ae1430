"""Writes of what people do with the catalogue: ratings and "not interested".

Every service takes keyword arguments only, validates its input (raising
django.core.exceptions.ValidationError with a field name and a code), and runs
in one transaction. Nothing here knows of the recommender: after a rating is
written the view or API asks `recommender.services` to refresh the user's picks.
"""

from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from movies.models import RATING_VALUES, Dismissal, GroupChoice, Movie, Rating, Skip, WatchlistEntry
from movies.sql_names import column, table
from movies.totals import movie_totals_add

M = TypeVar("M", Dismissal, WatchlistEntry, Skip)

RatingValue = float | int | Decimal | str


def rating_value_clean(value: RatingValue) -> float:
    """Return value as one of the half stars 0.5..5.0, or raise ValidationError."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"value": "A rating is a number of stars."}, code="invalid") from None
    if not number.is_finite() or float(number) not in RATING_VALUES:
        raise ValidationError({"value": "A rating is 0.5 to 5 stars in half stars."}, code="invalid")
    return float(number)


def rating_create_or_update(*, user: User, movie_id: int, value: RatingValue) -> Rating:
    """Set the user's rating of a movie, creating or replacing it.

    1. Validate the value (half stars from 0.5 to 5.0) and the user.
    2. Insert the rating unless the user has rated the movie already, in one statement that
       never fails on that (no lock taken first, no savepoint): a first rating, the common
       case, is then written. A double click's second insert waits for the first one's
       commit and inserts nothing.
    3. Otherwise lock the user's rating of the movie and replace its value: a double click
       waits for the first, while other people rating the same movie never wait for each
       other here. A rating deleted between steps 2 and 3 sends the write back to step 2.
    4. Add the change to the movie's count and sum in one UPDATE, the transaction's last
       statement, so the movie row stays locked only until the commit. No recount: the
       nightly retrain checks the totals (movies.totals).
    """
    stars = rating_value_clean(value)
    _user_check(user)
    with transaction.atomic():
        for _attempt in range(3):
            rating = _rating_insert(user=user, movie_id=movie_id, stars=stars)
            if rating is not None:
                added, change = 1, stars
                break
            rating = _rating_locked(user=user, movie_id=movie_id)
            if rating is not None:
                added, change = 0, stars - rating.value
                rating.value = stars
                rating.rated_at = timezone.now()
                rating.save(update_fields=["value", "rated_at"])
                break
            # Another request of this user deleted the rating meanwhile: insert again.
        else:
            raise ValidationError({"movie_id": "That rating changed meanwhile: try again."}, code="conflict")
        # An unknown movie shows here (the rating's foreign key is checked only at the commit);
        # an unchanged value touches no movie row at all.
        if (added or change) and not movie_totals_add(movie_id=movie_id, count=added, total=change):
            raise ValidationError({"movie_id": "No such movie."}, code="unknown_movie")
    return rating


def rating_delete(*, user: User, movie_id: int) -> bool:
    """Remove the user's rating of a movie and take it off the movie's totals. Returns False when there was none."""
    _user_check(user)
    with transaction.atomic():
        rating = _rating_locked(user=user, movie_id=movie_id)
        if rating is None:
            return False
        Rating.objects.filter(pk=rating.pk).delete()
        movie_totals_add(movie_id=movie_id, count=-1, total=-rating.value)
    return True


def movie_dismiss(*, user: User, movie_id: int) -> Dismissal:
    """Mark a movie "not interested" for the user; marking it twice is harmless."""
    return _mark(Dismissal, user=user, movie_id=movie_id)


def movie_undismiss(*, user: User, movie_id: int) -> bool:
    """Take back "not interested". Returns False when the movie was not dismissed."""
    return _unmark(Dismissal, user=user, movie_id=movie_id)


def watchlist_add(*, user: User, movie_id: int) -> WatchlistEntry:
    """Save a movie for later; saving it twice is harmless."""
    return _mark(WatchlistEntry, user=user, movie_id=movie_id)


def watchlist_remove(*, user: User, movie_id: int) -> bool:
    """Take a movie off the watchlist. Returns False when it was not on it."""
    return _unmark(WatchlistEntry, user=user, movie_id=movie_id)


def movie_skip(*, user: User, movie_id: int) -> Skip:
    """Note that the user has not seen the movie ("haven't seen it"); skipping again restarts the pause."""
    skip = _mark(Skip, user=user, movie_id=movie_id)
    Skip.objects.filter(pk=skip.pk).update(created_at=timezone.now())
    return skip


def movie_unskip(*, user: User, movie_id: int) -> bool:
    return _unmark(Skip, user=user, movie_id=movie_id)


def group_choice_set(*, user: User, groups: list[tuple[str, list[int], bool]]) -> int:
    """Replace the groups the user chose at onboarding: (group name, its movie ids, liked) each.

    Stores one row per movie (a movie in two chosen groups keeps the first); an empty list takes
    the choice back. Returns the number of movies stored.
    """
    _user_check(user)
    wanted = {movie_id for _, movie_ids, _ in groups for movie_id in movie_ids}
    existing = set(Movie.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    rows: dict[int, GroupChoice] = {}
    for name, movie_ids, liked in groups:
        for movie_id in movie_ids:
            if movie_id in existing and movie_id not in rows:
                rows[movie_id] = GroupChoice(user=user, movie_id=movie_id, liked=liked, group=name[:300])
    with transaction.atomic():
        GroupChoice.objects.filter(user=user).delete()
        # A second submission at the same moment: its rows and these are the same kind of choice.
        GroupChoice.objects.bulk_create(rows.values(), ignore_conflicts=True)
    return len(rows)


def _mark(model: type[M], *, user: User, movie_id: int) -> M:
    """The user's row of model (Dismissal, WatchlistEntry, Skip) for the movie, created if missing."""
    _user_check(user)
    with transaction.atomic():
        if not Movie.objects.filter(pk=movie_id).exists():
            raise ValidationError({"movie_id": "No such movie."}, code="unknown_movie")
        row, _created = model.objects.get_or_create(user=user, movie_id=movie_id)  # type: ignore[attr-defined]
    return row


def _unmark(model: type[Dismissal | WatchlistEntry | Skip], *, user: User, movie_id: int) -> bool:
    _user_check(user)
    deleted, _by_model = model.objects.filter(user=user, movie_id=movie_id).delete()
    return deleted > 0


def _user_check(user: User | AnonymousUser) -> None:
    if user is None or not user.is_authenticated or user.pk is None:
        raise ValidationError({"user": "Log in to rate movies."}, code="anonymous")


def _rating_insert(*, user: User, movie_id: int, stars: float) -> Rating | None:
    """The user's new rating of the movie, or None when they have rated it already (nothing written).

    INSERT ... ON CONFLICT DO NOTHING (PostgreSQL, and SQLite from 3.35): a conflict with the
    user's existing rating, or with their concurrent first one, is no error, so the write
    needs no savepoint to go on after it. Column names come from the model's _meta.
    """
    user_id, movie_id_, value, rated = (column(Rating, name) for name in ("user", "movie", "value", "rated_at"))
    pk = column(Rating, "id")
    sql = (
        f"INSERT INTO {table(Rating)} ({user_id}, {movie_id_}, {value}, {rated}) VALUES (%s, %s, %s, %s) "  # noqa: S608 - names only
        f"ON CONFLICT ({user_id}, {movie_id_}) DO NOTHING RETURNING {pk}"
    )
    rated_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, movie_id, stars, connection.ops.adapt_datetimefield_value(rated_at)])
        row = cursor.fetchone()
    if row is None:
        return None
    rating = Rating(pk=row[0], user=user, movie_id=movie_id, value=stars, rated_at=rated_at)
    rating._state.adding, rating._state.db = False, connection.alias
    return rating


def _rating_locked(*, user: User, movie_id: int) -> Rating | None:
    """The user's rating of the movie, its row locked until the transaction ends, or None."""
    return Rating.objects.select_for_update().filter(user=user, movie_id=movie_id).first()
