"""The columnar ratings snapshot that training and the list workers read."""

import itertools
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import User
from django.db import connection

from movies.models import Movie, Rating
from recommender.snapshot import ratings_snapshot, snapshot_read, snapshot_read_users, snapshot_write

pytestmark = pytest.mark.django_db


def _rate(user: User, movie_id: int, value: float) -> None:
    Rating.objects.create(user=user, movie_id=movie_id, value=value, rated_at=datetime(2020, 1, 1, tzinfo=UTC))


def test_it_returns_every_rating_as_typed_columns():
    alice = User.objects.create(username="alice")
    bob = User.objects.create(username="bob")
    for movie_id in (1, 2, 3):
        Movie.objects.create(id=movie_id, title=f"Film {movie_id}")
    _rate(alice, 1, 4.5)
    _rate(alice, 3, 0.5)
    _rate(bob, 2, 5.0)

    seen = []
    snapshot = ratings_snapshot(on_progress=lambda done, total: seen.append((done, total)))

    assert list(snapshot.columns) == ["userId", "movieId", "rating"]
    assert snapshot.dtypes.tolist() == [np.int32, np.int32, np.float32]
    rows = sorted(snapshot.itertuples(index=False, name=None))
    assert rows == sorted([(alice.id, 1, 4.5), (alice.id, 3, 0.5), (bob.id, 2, 5.0)])
    assert seen[-1] == (3, 3)


def test_it_is_empty_without_ratings():
    snapshot = ratings_snapshot()
    assert len(snapshot) == 0
    assert list(snapshot.columns) == ["userId", "movieId", "rating"]


def test_it_can_keep_one_range_of_users():
    users = [User.objects.create(username=f"u{i}") for i in range(4)]
    Movie.objects.create(id=1, title="Film")
    for user in users:
        _rate(user, 1, 3.0)
    snapshot = ratings_snapshot(users_between=(users[1].pk, users[2].pk))
    assert sorted(snapshot["userId"].tolist()) == [users[1].pk, users[2].pk]


def test_it_reads_many_blocks_into_one_complete_snapshot(monkeypatch):
    monkeypatch.setattr("recommender.snapshot._BLOCK_ROWS", 3)
    users = User.objects.bulk_create([User(username=f"b{i}") for i in range(7)])
    for movie_id in (1, 2):
        Movie.objects.create(id=movie_id, title=f"Film {movie_id}")
    for user in users:
        _rate(user, 1, 2.0)
        _rate(user, 2, 3.5)
    seen = []
    snapshot = ratings_snapshot(on_progress=lambda done, total: seen.append(done))
    assert len(snapshot) == 14
    assert sorted(snapshot.itertuples(index=False, name=None)) == sorted(
        [(u.pk, 1, 2.0) for u in users] + [(u.pk, 2, 3.5) for u in users]
    )
    assert seen[-1] == 14
    if connection.vendor == "postgresql":  # blocks of users; other databases batch by rows
        assert len(seen) > 1


def test_a_written_snapshot_is_sorted_by_user_so_a_range_reads_only_its_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr("recommender.snapshot.SNAPSHOT_ROW_GROUP", 4)
    rng = np.random.default_rng(3)
    users = rng.permutation(np.repeat(np.arange(1, 11, dtype=np.int32), 3))  # 10 users, 3 ratings each, shuffled
    ratings = pd.DataFrame(
        {
            "userId": users,
            "movieId": np.arange(len(users), dtype=np.int32),
            "rating": np.full(len(users), 3.5, dtype=np.float32),
        }
    )
    path = tmp_path / "ratings.parquet"
    snapshot_write(ratings, path)

    groups = pq.ParquetFile(path).metadata
    bounds = [(groups.row_group(i).column(0).statistics.min, groups.row_group(i).column(0).statistics.max)
              for i in range(groups.num_row_groups)]  # fmt: skip
    assert groups.num_row_groups == 8
    assert all(high <= next_low for (_, high), (next_low, _) in itertools.pairwise(bounds))
    users_read, movies_read = snapshot_read_users(path, 4, 6)
    wanted = ratings[(ratings["userId"] >= 4) & (ratings["userId"] <= 6)]
    assert sorted(zip(users_read.tolist(), movies_read.tolist(), strict=True)) == sorted(
        zip(wanted["userId"].tolist(), wanted["movieId"].tolist(), strict=True)
    )
    assert sorted(snapshot_read(path).itertuples(index=False, name=None)) == sorted(
        ratings.itertuples(index=False, name=None)
    )
