"""A columnar snapshot of all ratings, read without building ORM objects.

Training needs every rating as three arrays. On PostgreSQL the server packs each
block of users' ratings into one bytea (12 bytes a row, big-endian), which numpy
reads as it is: a COPY sends one message per row, and handling 25M messages in
Python cost a minute, where this costs seconds. Other databases stream the rows
through a cursor in large batches.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection, transaction

from movies.models import Rating

SnapshotProgress = Callable[[int, int], None]

# One row as PostgreSQL's int4send || int4send || float4send packs it.
_PACKED_ROW = np.dtype([("user", ">i4"), ("movie", ">i4"), ("value", ">f4")])
# Rows per packed block: one bytea per block stays far below PostgreSQL's 1 GB per value.
_BLOCK_ROWS = 2_000_000
_SNAPSHOT_ROW = np.dtype([("user", "i4"), ("movie", "i4"), ("value", "f4")])
_BATCH = 200_000
# Rows per Parquet row group of a snapshot: a 10,000-user list chunk of ML-25M (about 1.5M
# ratings) reads about 16 groups, and the footer's statistics stay a few kB.
SNAPSHOT_ROW_GROUP = 100_000


def ratings_snapshot(
    *, users_between: tuple[int, int] | None = None, on_progress: SnapshotProgress | None = None
) -> pd.DataFrame:
    """All ratings as a DataFrame with columns userId, movieId (int32) and rating (float32).

    `users_between=(low, high)` keeps the users with low <= id <= high (one list-refresh chunk).

    The rows come from one statement, so they are consistent even while people
    keep rating; the count read before it only drives the progress display.
    """
    read = _read_postgres if connection.vendor == "postgresql" else _read_cursor
    parts = list(read(_where(users_between), on_progress))
    block = np.concatenate(parts) if parts else np.empty(0, dtype=_SNAPSHOT_ROW)
    return pd.DataFrame(
        {
            "userId": block["user"].astype(np.int32),
            "movieId": block["movie"].astype(np.int32),
            "rating": block["value"].astype(np.float32),
        }
    )


def _table_columns() -> tuple[str, str, str, str]:
    opts = Rating._meta
    return (
        opts.db_table,
        opts.get_field("user").column,
        opts.get_field("movie").column,
        opts.get_field("value").column,
    )


def _where(users_between: tuple[int, int] | None) -> str:
    if users_between is None:
        return ""
    low, high = (int(x) for x in users_between)  # ints only: safe to inline into COPY, which takes no parameters
    return f" WHERE {_table_columns()[1]} BETWEEN {low} AND {high}"


def _count(table: str, where: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}{where}")  # noqa: S608 - names from the model, ints
        return cursor.fetchone()[0]


def _read_postgres(where: str, on_progress: SnapshotProgress | None) -> Iterator[np.ndarray]:
    """Blocks of users' ratings, each packed by the server into one bytea.

    Outside a transaction the blocks are read in one REPEATABLE READ transaction,
    so they form one consistent snapshot even while people keep rating.
    """
    table, user_col, movie_col, value_col = _table_columns()
    with transaction.atomic():
        if not connection.savepoint_ids:  # the outermost block: the level is still ours to set
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), min({user_col}), max({user_col}) FROM {table}{where}")  # noqa: S608
            total, low, high = cursor.fetchone()
            if not total:
                return
            # Equal-width user ranges that hold about _BLOCK_ROWS ratings each on average.
            blocks = max(1, -(-total // _BLOCK_ROWS))
            width = max(1, -(-(high - low + 1) // blocks))
            packed = f"int4send({user_col}::int4) || int4send({movie_col}::int4) || float4send({value_col}::float4)"
            done = 0
            for start in range(low, high + 1, width):
                stop = min(start + width - 1, high)
                extra = f"{' AND' if where else ' WHERE'} {user_col} BETWEEN {start} AND {stop}"
                cursor.execute(f"SELECT string_agg({packed}, ''::bytea) FROM {table}{where}{extra}")  # noqa: S608
                data = cursor.fetchone()[0]
                if not data:
                    continue
                rows = np.frombuffer(data, dtype=_PACKED_ROW)
                done += len(rows)
                yield _compact(rows["user"], rows["movie"], rows["value"])
                if on_progress:
                    on_progress(done, max(total, done))


def _read_cursor(where: str, on_progress: SnapshotProgress | None) -> Iterator[np.ndarray]:
    table, user_col, movie_col, value_col = _table_columns()
    total = _count(table, where)
    done = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {user_col}, {movie_col}, {value_col} FROM {table}{where}")  # noqa: S608
        while rows := cursor.fetchmany(_BATCH):
            block = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
            done += len(rows)
            yield _compact(block[:, 0], block[:, 1], block[:, 2])
            if on_progress:
                on_progress(done, max(total, done))


def _compact(users: np.ndarray, movies: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.empty(len(users), dtype=_SNAPSHOT_ROW)
    out["user"], out["movie"], out["value"] = users, movies, values
    return out


def snapshot_write(ratings: pd.DataFrame, path: Path) -> int:
    """Keep a version's training data as Parquet beside its factors (written, then renamed).

    The exact ratings a version learned from, for evaluating or retraining it later and
    for leaving them out of its lists. Rows are sorted by user and cut into row groups
    whose min/max statistics let a list chunk read only its own users' rows
    (snapshot_read_users). Returns the file's size in bytes.
    """
    part = path.with_name(f".{path.name}.part")
    order = np.argsort(ratings["userId"].to_numpy(), kind="stable")
    table = pa.Table.from_pandas(ratings.iloc[order], preserve_index=False)
    pq.write_table(table, part, compression="zstd", row_group_size=SNAPSHOT_ROW_GROUP)
    os.replace(part, path)
    return path.stat().st_size


def snapshot_read(path: Path) -> pd.DataFrame:
    """A snapshot written by snapshot_write, as the same DataFrame."""
    return pq.read_table(path).to_pandas()


def snapshot_read_users(path: Path, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, movie ids) of the snapshot's ratings by users low <= id <= high.

    Row groups whose statistics lie outside the range are never read or decompressed.
    """
    table = pq.read_table(
        path, columns=["userId", "movieId"], filters=[("userId", ">=", int(low)), ("userId", "<=", int(high))]
    )
    return table.column("userId").to_numpy(), table.column("movieId").to_numpy()


def ratings_with_times() -> pd.DataFrame:
    """All ratings with the time each was made (seconds since 1970), for protocol P's order.

    Read through the ORM: evaluation reads it once, where training's snapshot is read on
    every retrain.
    """
    rows = Rating.objects.values_list("user_id", "movie_id", "value", "rated_at").iterator(chunk_size=_BATCH)
    users, movies, values, times = [], [], [], []
    for user, movie, value, rated_at in rows:
        users.append(user)
        movies.append(movie)
        values.append(value)
        times.append(int(rated_at.timestamp()))
    return pd.DataFrame(
        {
            "userId": np.asarray(users, dtype=np.int32),
            "movieId": np.asarray(movies, dtype=np.int32),
            "rating": np.asarray(values, dtype=np.float32),
            "timestamp": np.asarray(times, dtype=np.int64),
        }
    )
