"""What a list chunk leaves out: the version's snapshot for the ratings it learned from, the database for the rest."""

import dataclasses

import numpy as np
import pytest

from movies import services as movie_services
from movies.models import Rating
from recommender.services.lists import chunk_exclusions, exclusions, snapshot_path
from tests.engine.conftest import random_factors
from tests.trained import install


def _pairs(users, movies) -> set[tuple[int, int]]:
    return set(zip(users.tolist(), movies.tolist(), strict=True))


def _unrated(user) -> list[int]:
    rated = set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
    return [movie_id for movie_id in range(1, 41) if movie_id not in rated]


@pytest.mark.django_db
def test_a_chunk_reads_the_snapshot_then_only_what_changed_since_from_the_database(two_tastes, trained_run):
    version = install(trained_run, publish=False)
    low, high = two_tastes[2].pk, two_tastes[5].pk
    inside, outside, edited = two_tastes[3], two_tastes[10], two_tastes[4]
    new_movie, dismissed = _unrated(inside)[:2]
    movie_services.rating_create_or_update(user=inside, movie_id=new_movie, value=2.0)
    movie_services.movie_dismiss(user=inside, movie_id=dismissed)
    movie_services.rating_create_or_update(user=outside, movie_id=_unrated(outside)[0], value=4.0)
    # Removed behind the services' back: still in the snapshot, so still left out of this version's list.
    forgotten = Rating.objects.filter(user=edited).order_by("movie_id").first()
    Rating.objects.filter(pk=forgotten.pk).delete()

    found = _pairs(*chunk_exclusions(version=version, low=low, high=high))

    in_database = set(Rating.objects.filter(user_id__gte=low, user_id__lte=high).values_list("user_id", "movie_id"))
    assert found == in_database | {(inside.pk, dismissed), (edited.pk, forgotten.movie_id)}
    assert (inside.pk, new_movie) in found
    assert all(low <= user <= high for user, _ in found)


@pytest.mark.django_db
def test_a_version_without_its_snapshot_reads_the_chunks_ratings_from_the_database(two_tastes, trained_run):
    version = install(trained_run, publish=False)
    low, high = two_tastes[0].pk, two_tastes[39].pk
    gone = Rating.objects.filter(user=two_tastes[0]).order_by("movie_id").first()
    Rating.objects.filter(pk=gone.pk).delete()
    snapshot_path(version).unlink()

    found = _pairs(*chunk_exclusions(version=version, low=low, high=high))

    assert found == set(Rating.objects.values_list("user_id", "movie_id"))
    assert (gone.user_id, gone.movie_id) not in found


@pytest.mark.parametrize("sparse_ids", [False, True])
def test_the_exclusion_matrix_holds_exactly_the_known_pairs_given(sparse_ids):
    factors = random_factors(n_users=30, n_movies=40)
    if sparse_ids:  # ids too far apart for a lookup table: binary searches instead
        factors = dataclasses.replace(factors, user_ids=factors.user_ids * 10**9, movie_ids=factors.movie_ids * 10**9)
    rng = np.random.default_rng(4)
    users = rng.choice(factors.user_ids, 300)
    movies = rng.choice(factors.movie_ids, 300)
    # Unknown ids (negative, between known ones, past the largest) are dropped; a repeated pair is kept once.
    users = np.concatenate([users, [-5, factors.user_ids[2] + 1, factors.user_ids[-1] + 1, users[0]]])
    movies = np.concatenate([movies, [movies[0], movies[1], movies[2], movies[0]]])

    matrix = exclusions(factors, users, movies)

    index = {int(raw): i for i, raw in enumerate(factors.user_ids)}
    columns = {int(raw): i for i, raw in enumerate(factors.movie_ids)}
    wanted = {(index[int(u)], columns[int(m)]) for u, m in zip(users, movies, strict=True) if int(u) in index}
    rows, cols = matrix.nonzero()
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == wanted
    assert matrix.shape == (factors.n_users, factors.n_movies)
