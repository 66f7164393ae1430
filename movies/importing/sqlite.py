"""The SQLite writer: ratings and tags in big executemany batches."""
# ruff: noqa: S608 - the SQL here interpolates only table names from model _meta, quoted; values are parameters

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.db import connection

from movies.importers import RatingChunk
from movies.importing.writers import RatingSink, Writer, quote

_SQLITE_TIME = "strftime('%Y-%m-%d %H:%M:%S', ?, 'unixepoch')"  # the text Django stores for a datetime


class _SqliteRatings(RatingSink):
    """Insert straight into an empty table (its movie index dropped meanwhile), else stage and merge."""

    def __init__(self, raw: Any, table: str) -> None:
        self.raw = raw
        self.table = table
        self.cursor = raw.cursor()
        self.cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")
        self.bulk = not self.cursor.fetchone()[0]
        self.rebuild: list[str] = []
        if self.bulk:
            # Indexes Django created with CREATE INDEX can go and come back; the unique
            # constraint is part of the table in SQLite and stays.
            self.cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
                "AND sql NOT LIKE 'CREATE UNIQUE%'",
                [table],
            )
            for name, sql in self.cursor.fetchall():
                self.cursor.execute(f"DROP INDEX {quote(name)}")
                self.rebuild.append(sql)
            self.sql = (
                f"INSERT INTO {quote(table)} (user_id, movie_id, value, rated_at) VALUES (?, ?, ?, {_SQLITE_TIME}) "
                "ON CONFLICT (user_id, movie_id) DO NOTHING"
            )
        else:
            self.cursor.execute("DROP TABLE IF EXISTS temp.movielens_rating_stage")
            self.cursor.execute(
                "CREATE TEMP TABLE movielens_rating_stage (user_id, movie_id, value, rated_at, line INTEGER)"
            )
            self.sql = f"INSERT INTO temp.movielens_rating_stage VALUES (?, ?, ?, {_SQLITE_TIME}, ?)"

    def write(self, user_ids: np.ndarray, chunk: RatingChunk) -> None:
        columns = [user_ids.tolist(), chunk.movie.tolist(), chunk.value.tolist(), chunk.timestamp.tolist()]
        if not self.bulk:
            columns.append(chunk.line.tolist())
        self.cursor.executemany(self.sql, zip(*columns, strict=True))
        if self.bulk:
            self.created += self.cursor.rowcount

    def drop_repeats(self, pairs: list[tuple[int, int]]) -> None:
        if self.bulk:
            return  # ON CONFLICT DO NOTHING already kept the first rating of each pair
        self.cursor.executemany(
            "DELETE FROM temp.movielens_rating_stage WHERE user_id = ? AND movie_id = ? AND line > "
            "(SELECT min(line) FROM temp.movielens_rating_stage s WHERE s.user_id = ? AND s.movie_id = ?)",
            [(u, m, u, m) for u, m in pairs],
        )

    def finish(self) -> None:
        table = quote(self.table)
        if self.bulk:
            for sql in self.rebuild:
                self.cursor.execute(sql)
            return
        self.cursor.execute(f"SELECT count(*) FROM {table}")
        before = self.cursor.fetchone()[0]
        before_changes = self.raw.total_changes
        # WHERE true: SQLite needs it to tell ON CONFLICT from a join clause after SELECT ... FROM.
        self.cursor.execute(
            f"INSERT INTO {table} (user_id, movie_id, value, rated_at) "
            "SELECT user_id, movie_id, value, rated_at FROM temp.movielens_rating_stage WHERE true "
            "ON CONFLICT (user_id, movie_id) DO UPDATE SET value = excluded.value, rated_at = excluded.rated_at "
            f"WHERE {table}.value IS NOT excluded.value OR {table}.rated_at IS NOT excluded.rated_at"
        )
        touched = self.raw.total_changes - before_changes
        self.cursor.execute(f"SELECT count(*) FROM {table}")
        self.created = self.cursor.fetchone()[0] - before
        self.updated = touched - self.created
        self.cursor.execute("DROP TABLE temp.movielens_rating_stage")


class SqliteWriter(Writer):
    @contextmanager
    def ratings(self) -> Iterator[RatingSink]:
        connection.ensure_connection()
        raw = connection.connection
        # A bigger page cache keeps the unique index in memory while 25M rows go in; the
        # journal still protects the transaction, so a crash leaves the database as it was.
        raw.execute("PRAGMA cache_size = -262144")
        raw.execute("PRAGMA temp_store = FILE")
        sink = _SqliteRatings(raw, self.rating_table)
        yield sink
        sink.finish()

    def insert_tags(self, rows: list[tuple[int, int, str, int]]) -> int:
        raw = connection.connection
        before = raw.total_changes
        raw.executemany(
            f"INSERT INTO {quote(self.tag_table)} (user_id, movie_id, text, tagged_at) "
            f"VALUES (?, ?, ?, {_SQLITE_TIME}) "
            "ON CONFLICT DO NOTHING",
            rows,
        )
        return raw.total_changes - before
