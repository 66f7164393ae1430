"""The fixed-SQL reads of a picks call give what the ORM would."""

from datetime import UTC, datetime

import pytest

from movies.models import Dismissal, Movie, Rating
from recommender.services.picks_queries import DISMISSED, movies_by_id, user_rows

pytestmark = pytest.mark.django_db


def test_user_rows_are_the_ratings_with_newness_and_the_dismissals(alice, carol, movies):
    Rating.objects.create(user=alice, movie=movies["Jumanji"], value=5.0, rated_at=datetime(2025, 6, 1, tzinfo=UTC))
    Dismissal.objects.create(user=alice, movie=movies["The Matrix"])
    Dismissal.objects.create(user=carol, movie=movies["Amélie"])  # someone else's: never read
    since = datetime(2025, 1, 1, tzinfo=UTC)
    assert sorted(user_rows(alice.pk, since)) == [
        (1, 4.5, False),
        (2, 5.0, True),
        (3, 2.0, False),
        (4, DISMISSED, False),
    ]
    assert not any(newer for _, _, newer in user_rows(alice.pk, None))
    assert user_rows(carol.pk, since) == [(5, DISMISSED, False)]


def test_movies_by_id_loads_whole_rows_and_skips_unknown_ids(movies):
    Movie.objects.filter(pk=4).update(imdb_id="0133093", tmdb_id=603, ratings_mean=4.2)
    found = movies_by_id([4, 1, 4, 999])
    assert set(found) == {1, 4}
    matrix = found[4]
    assert (matrix.title, matrix.year, matrix.imdb_id, matrix.tmdb_id, matrix.ratings_mean) == (
        "The Matrix",
        1999,
        "0133093",
        603,
        4.2,
    )
    assert matrix.get_absolute_url() == Movie.objects.get(pk=4).get_absolute_url()
    assert movies_by_id([]) == {}
