"""The PostgreSQL writer: ratings and tags through binary COPY."""
# ruff: noqa: S608 - the SQL here interpolates only table names from model _meta, quoted; values are parameters

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.crypto import get_random_string

from movies.importers import MovieLensError, RatingChunk
from movies.importing.writers import USERNAME_PREFIX, RatingSink, Writer, quote
from movies.models import MovieLensAccount

# Binary COPY rows built by numpy: field count, then (length, big-endian value) per field.
# Timestamps are microseconds since 2000-01-01 UTC, PostgreSQL's epoch.
_PG_EPOCH = 946_684_800
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_RATING_ROW = np.dtype(
    [("n", ">i2"), ("l1", ">i4"), ("user", ">i4"), ("l2", ">i4"), ("movie", ">i4"),
     ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("at", ">i8")]
)  # fmt: skip
_STAGE_ROW = np.dtype([*_RATING_ROW.descr, ("l5", ">i4"), ("line", ">i8")])


def _binary_rows(user_ids: np.ndarray, chunk: RatingChunk, with_line: bool) -> bytes:
    dtype = _STAGE_ROW if with_line else _RATING_ROW
    rows = np.empty(len(chunk), dtype=dtype)
    rows["n"] = 5 if with_line else 4
    rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 4, 4, 8, 8
    rows["user"] = user_ids
    rows["movie"] = chunk.movie
    rows["value"] = chunk.value
    rows["at"] = (chunk.timestamp - _PG_EPOCH) * 1_000_000
    if with_line:
        rows["l5"] = 8
        rows["line"] = chunk.line
    return rows.tobytes()


def _drop_rebuildable(cursor: Any, table: str) -> list[str]:
    """Drop a table's unique constraints, foreign keys and plain indexes; return the DDL that rebuilds them.

    Loading a bare table and building its indexes once is far faster than keeping
    them up to date row by row (even the primary key alone slows COPY down a lot), and
    foreign keys checked row by row at commit are slower still. Nothing references these
    tables' primary keys. It all happens in the import's transaction, so a failure puts
    the indexes back with everything else.
    """
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid AND k.conrelid = x.indrelid) "
        "ORDER BY i.relname",
        [table],
    )
    indexes = cursor.fetchall()
    rebuild = []
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        rebuild.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
    for name, definition in indexes:
        cursor.execute(f"DROP INDEX {quote(name)}")
        rebuild.append(definition)
    # Keys first (an index build each), then plain indexes, then foreign keys (a join each).
    rebuild.sort(key=lambda ddl: 0 if " PRIMARY KEY" in ddl or " UNIQUE" in ddl else 2 if "FOREIGN KEY" in ddl else 1)
    return rebuild


def _rebuild(cursor: Any, table: str, ddl: list[str]) -> None:
    # Sorting 25M keys in memory instead of in 64 MB runs on disk halves the index builds.
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    for statement in ddl:
        cursor.execute(statement)
    cursor.execute(f"ANALYZE {quote(table)}")


class _PostgresRatings(RatingSink):
    """COPY straight into an empty rating table, or into a staging table merged at the end.

    The users are created before the ratings, so one COPY streams every block and
    PostgreSQL never waits for Python between blocks. A connection runs no other
    statement while a COPY is open, so anything else (a late user) closes it first.
    """

    def __init__(self, cursor: Any, table: str) -> None:
        self.cursor = cursor
        self.table = table
        # Writers wait until the import commits; readers of the site go on.
        cursor.execute(f"LOCK TABLE {quote(table)} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")
        self.bulk = not cursor.fetchone()[0]
        self.created_ddl: list[str] = []
        if self.bulk:
            self.created_ddl = _drop_rebuildable(cursor, table)
            self.target = f"{quote(table)} (user_id, movie_id, value, rated_at)"
        else:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.movielens_rating_stage")
            cursor.execute(
                "CREATE TEMP TABLE movielens_rating_stage "
                "(user_id integer, movie_id integer, value double precision, rated_at timestamptz, line bigint) "
                "ON COMMIT DROP"
            )
            self.target = "movielens_rating_stage"
        self._copy_cm: Any = None
        self._copy: Any = None

    def write(self, user_ids: np.ndarray, chunk: RatingChunk) -> None:
        if self._copy is None:
            self._copy_cm = self.cursor.copy(f"COPY {self.target} FROM STDIN (FORMAT binary)")
            self._copy = self._copy_cm.__enter__()
            self._copy.write(_PG_SIGNATURE)
        self._copy.write(_binary_rows(user_ids, chunk, with_line=not self.bulk))

    def close_copy(self, exc: BaseException | None = None) -> None:
        """End the COPY (or, after an error, abort it so the transaction can roll back)."""
        if self._copy_cm is not None:
            cm, self._copy_cm, self._copy = self._copy_cm, None, None
            cm.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    def drop_repeats(self, pairs: list[tuple[int, int]]) -> None:
        self.close_copy()
        users = [u for u, _ in pairs]
        movies = [m for _, m in pairs]
        if self.bulk:
            # COPY assigns ids in file order, so the smallest id is the first rating of the pair.
            self.cursor.execute(
                f"DELETE FROM {quote(self.table)} r USING ("
                f"  SELECT user_id, movie_id, min(id) AS keep FROM {quote(self.table)}"
                f"  WHERE (user_id, movie_id) IN (SELECT * FROM unnest(%s::int[], %s::int[]))"
                f"  GROUP BY user_id, movie_id) d "
                f"WHERE r.user_id = d.user_id AND r.movie_id = d.movie_id AND r.id <> d.keep",
                [users, movies],
            )
        else:
            self.cursor.execute(
                "DELETE FROM movielens_rating_stage s USING ("
                "  SELECT user_id, movie_id, min(line) AS keep FROM movielens_rating_stage"
                "  WHERE (user_id, movie_id) IN (SELECT * FROM unnest(%s::int[], %s::int[]))"
                "  GROUP BY user_id, movie_id) d "
                "WHERE s.user_id = d.user_id AND s.movie_id = d.movie_id AND s.line <> d.keep",
                [users, movies],
            )

    def finish(self) -> None:
        self.close_copy()
        c = self.cursor
        table = quote(self.table)
        if self.bulk:
            c.execute(f"SELECT count(*) FROM {table}")
            self.created = c.fetchone()[0]
            _rebuild(c, self.table, self.created_ddl)
            return
        c.execute(f"SELECT count(*) FROM {table}")
        before = c.fetchone()[0]
        c.execute(
            f"INSERT INTO {table} AS r (user_id, movie_id, value, rated_at) "
            "SELECT user_id, movie_id, value, rated_at FROM movielens_rating_stage "
            "ON CONFLICT (user_id, movie_id) DO UPDATE SET value = EXCLUDED.value, rated_at = EXCLUDED.rated_at "
            "WHERE (r.value, r.rated_at) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.rated_at)"
        )
        touched = c.rowcount
        c.execute(f"SELECT count(*) FROM {table}")
        self.created = c.fetchone()[0] - before
        self.updated = touched - self.created


class PostgresWriter(Writer):
    sink: _PostgresRatings | None = None

    @contextmanager
    def ratings(self) -> Iterator[RatingSink]:
        with connection.cursor() as cursor:
            self.sink = _PostgresRatings(cursor, self.rating_table)
            try:
                yield self.sink
            except BaseException as exc:
                self.sink.close_copy(exc)
                raise
            finally:
                sink, self.sink = self.sink, None
            sink.finish()

    def create_users(self, ml_ids: np.ndarray) -> np.ndarray:
        """As the portable version, in three set-based statements (160k users in about 2 s)."""
        if self.sink is not None:
            self.sink.close_copy()
        user_table = quote(get_user_model()._meta.db_table)
        names = [f"{USERNAME_PREFIX}{int(i)}" for i in ml_ids]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {user_table} (password, is_superuser, username, first_name, last_name, email, "
                "is_staff, is_active, date_joined) "
                "SELECT %s, false, name, '', '', '', false, true, now() FROM unnest(%s::text[]) AS name "
                "ON CONFLICT (username) DO NOTHING",
                ["!" + get_random_string(40), names],
            )
            # A person who registered as 'movielens-5' keeps their account: only unusable ones match.
            cursor.execute(
                f"SELECT username, id FROM {user_table} WHERE username = ANY(%s) AND password LIKE '!%%'", [names]
            )
            by_name = dict(cursor.fetchall())
            taken = [name for name in names if name not in by_name]
            if taken:
                raise MovieLensError(f"username {taken[0]!r} belongs to a user who can log in; rename that user first")
            ids = np.array([by_name[name] for name in names], dtype=np.int64)
            cursor.execute(
                f"INSERT INTO {quote(MovieLensAccount._meta.db_table)} (movielens_id, user_id) "
                "SELECT * FROM unnest(%s::int[], %s::int[]) ON CONFLICT DO NOTHING",
                [ml_ids.tolist(), ids.tolist()],
            )
        return ids

    tag_stage = False

    def insert_tags(self, rows: list[tuple[int, int, str, int]]) -> int:
        """COPY the batch into a staging table; finish_tags merges them all in one statement."""
        with connection.cursor() as cursor:
            if not self.tag_stage:
                # ON COMMIT DROP does not fire when the import runs inside an outer transaction (tests).
                cursor.execute("DROP TABLE IF EXISTS pg_temp.movielens_tag_stage")
                cursor.execute(
                    "CREATE TEMP TABLE movielens_tag_stage "
                    "(user_id integer, movie_id integer, text text, ts bigint) ON COMMIT DROP"
                )
                self.tag_stage = True
            with cursor.copy("COPY movielens_tag_stage FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return 0

    def finish_tags(self) -> int:
        if not self.tag_stage:
            return 0
        table = quote(self.tag_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:
                cursor.execute(
                    f"INSERT INTO {table} (user_id, movie_id, text, tagged_at) "
                    "SELECT user_id, movie_id, text, to_timestamp(ts) FROM movielens_tag_stage ON CONFLICT DO NOTHING"
                )
                return cursor.rowcount
            # An empty table: load it bare, as the ratings, with repeated tags removed by DISTINCT.
            rebuild = _drop_rebuildable(cursor, self.tag_table)
            cursor.execute(
                f"INSERT INTO {table} (user_id, movie_id, text, tagged_at) "
                "SELECT DISTINCT user_id, movie_id, text, to_timestamp(ts) FROM movielens_tag_stage"
            )
            created = cursor.rowcount
            _rebuild(cursor, self.tag_table, rebuild)
            return created
