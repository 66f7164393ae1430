"""Writes of what people do with the catalogue: ratings and "not interested".

Every service takes keyword arguments only, validates its input (raising
django.core.exceptions.ValidationError with a field name and a code), and runs
in one transaction. Nothing here knows of the recommender: after a rating is
written the view or API asks `recommender.services` to refresh the user's picks.
"""

from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, FloatField, Func, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from movies.models import RATING_VALUES, Dismissal, Movie, Rating

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


def rating_create_or_update(*, user: AbstractBaseUser, movie_id: int, value: RatingValue) -> Rating:
    """Set the user's rating of a movie, creating or replacing it.

    1. Validate the value (half stars from 0.5 to 5.0) and the user.
    2. Lock the movie row: it must exist, and concurrent ratings of the same
       movie (including a double click) then run one after the other.
    3. Write the rating and move the movie's count and mean by the difference.
    """
    stars = rating_value_clean(value)
    _user_check(user)
    with transaction.atomic():
        _movie_lock(movie_id=movie_id)
        rating = Rating.objects.filter(user=user, movie_id=movie_id).first()
        now = timezone.now()
        if rating is None:
            rating = Rating.objects.create(user=user, movie_id=movie_id, value=stars, rated_at=now)
            _movie_totals_shift(movie_id=movie_id, count_delta=1, sum_delta=stars)
        else:
            old = rating.value
            rating.value = stars
            rating.rated_at = now
            rating.save(update_fields=["value", "rated_at"])
            if old != stars:
                _movie_totals_shift(movie_id=movie_id, count_delta=0, sum_delta=stars - old)
    return rating


def rating_delete(*, user: AbstractBaseUser, movie_id: int) -> bool:
    """Remove the user's rating of a movie. Returns False when there was none."""
    _user_check(user)
    with transaction.atomic():
        _movie_lock(movie_id=movie_id)
        rating = Rating.objects.filter(user=user, movie_id=movie_id).first()
        if rating is None:
            return False
        rating.delete()
        _movie_totals_shift(movie_id=movie_id, count_delta=-1, sum_delta=-rating.value)
    return True


def movie_dismiss(*, user: AbstractBaseUser, movie_id: int) -> Dismissal:
    """Mark a movie "not interested" for the user; marking it twice is harmless."""
    _user_check(user)
    with transaction.atomic():
        if not Movie.objects.filter(pk=movie_id).exists():
            raise ValidationError({"movie_id": "No such movie."}, code="unknown_movie")
        dismissal, _created = Dismissal.objects.get_or_create(user=user, movie_id=movie_id)
    return dismissal


def movie_undismiss(*, user: AbstractBaseUser, movie_id: int) -> bool:
    """Take back "not interested". Returns False when the movie was not dismissed."""
    _user_check(user)
    deleted, _by_model = Dismissal.objects.filter(user=user, movie_id=movie_id).delete()
    return deleted > 0


def _user_check(user: AbstractBaseUser | AnonymousUser) -> None:
    if user is None or not user.is_authenticated or user.pk is None:
        raise ValidationError({"user": "Log in to rate movies."}, code="anonymous")


def _movie_lock(*, movie_id: int) -> None:
    found = Movie.objects.select_for_update().filter(pk=movie_id).values_list("pk", flat=True)
    if not list(found):
        raise ValidationError({"movie_id": "No such movie."}, code="unknown_movie")


class _Round(Func):
    # ROUND of a double in both SQLite and PostgreSQL (Django's Round casts to numeric on PostgreSQL).
    function = "ROUND"
    output_field = FloatField()


def _movie_totals_shift(*, movie_id: int, count_delta: int, sum_delta: float) -> None:
    """Move a movie's ratings_count and ratings_mean by one rating, in one UPDATE.

    The sum of a movie's ratings is a multiple of 0.5, so it is recovered exactly
    from count * mean by rounding to the nearest half star. Adding the change to
    that exact sum, rather than nudging the mean, keeps the mean equal to what
    AVG() over the ratings gives, however many updates follow each other.
    """
    count = F("ratings_count")
    exact_sum = _Round(Coalesce(F("ratings_mean"), Value(0.0)) * count * Value(2.0)) / Value(2.0)
    new_count = count + Value(count_delta)
    new_mean = (exact_sum + Value(float(sum_delta))) / new_count
    if count_delta < 0:
        # The last rating gone: no mean, and no division by zero.
        new_mean = Case(
            When(ratings_count__lte=-count_delta, then=Value(None)), default=new_mean, output_field=FloatField()
        )
    Movie.objects.filter(pk=movie_id).update(ratings_count=new_count, ratings_mean=new_mean)
