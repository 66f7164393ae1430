# ruff: noqa: S608 - the SQL here interpolates only table names from model _meta, quoted; values are parameters
"""Importing MovieLens data sets into the catalogue: the service behind `import_movielens`.

The readers (movies.importers) parse and validate; this module decides what to
write and how: one transaction per import, set-based SQL, COPY on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils.crypto import get_random_string
from tqdm import tqdm

from movies.importers import (
    BadRow,
    LinkRow,
    MovieLensError,
    MovieRow,
    RatingChunk,
    detect_layout,
    find_duplicate_pairs,
    iter_ratings,
    iter_tags,
    known_mask,
    open_source,
    pair_keys,
    raise_bad,
    read_links,
    read_movies,
    scan_user_ids,
)
from movies.models import Genre, Movie, MovieLensAccount, Rating, Tag

DATASETS = ("ml-latest-small", "ml-latest", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m")
DEFAULT_BASE_URL = "https://files.grouplens.org/datasets/movielens"
USERNAME_PREFIX = "movielens-"
# Bad rows printed in full; past this only the count grows, so a broken file cannot flood the terminal.
BAD_ROWS_LISTED = 100
SQL_BATCH = 20_000


@dataclass
class ImportResult:
    """What one import read and what it changed."""

    source: str
    layout: str
    dry_run: bool = False
    movies: int = 0
    links: int = 0
    ratings: int = 0
    tags: int = 0
    users: int = 0
    movies_created: int = 0
    movies_updated: int = 0
    ratings_created: int = 0
    ratings_updated: int = 0
    tags_created: int = 0
    users_created: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    bad_count: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return (
            self.movies_created
            + self.movies_updated
            + self.ratings_created
            + self.ratings_updated
            + self.tags_created
            + self.users_created
        )

    def summary(self) -> str:
        verb = "validated (dry run, nothing written)" if self.dry_run else "imported"
        line = (
            f"{verb} {self.ratings:,} ratings, {self.movies:,} movies, {self.tags:,} tags, "
            f"{self.users:,} users from {self.source} in {self.seconds:.1f} s"
        )
        if not self.dry_run:
            line += (
                f"; new: {self.ratings_created:,} ratings, {self.movies_created:,} movies, {self.tags_created:,} tags,"
                f" {self.users_created:,} users; updated: {self.ratings_updated:,} ratings,"
                f" {self.movies_updated:,} movies"
            )
        if self.bad_count:
            line += f"; skipped {self.bad_count:,} bad rows"
        return line


class _BadRows:
    """The on_bad callback: raise at once, or (--skip-bad-rows) keep a list and a count."""

    def __init__(self, result: ImportResult, skip: bool) -> None:
        self.result = result
        self.skip = skip

    def __call__(self, bad: BadRow) -> None:
        if not self.skip:
            raise_bad(bad)
        self.result.bad_count += 1
        if len(self.result.bad_rows) < BAD_ROWS_LISTED:
            self.result.bad_rows.append(bad)


def _bar(total: int, desc: str, progress: bool, unit: str = "B") -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        unit_divisor=1024 if unit == "B" else 1000,
        file=sys.stderr,
        disable=not progress,
        leave=True,
        dynamic_ncols=True,
    )


def movielens_import(
    *,
    path: str | os.PathLike[str],
    skip_bad_rows: bool = False,
    dry_run: bool = False,
    progress: bool = True,
) -> ImportResult:
    """Import a MovieLens folder or zip of any layout; all or nothing.

    1. Open the folder or zip (zips are checked for unsafe members) and detect the layout.
    2. Read and validate movies and links; they are small and stay in memory.
    3. In one transaction: upsert movies, genres and links; create the MovieLens users
       found by a quick scan of the ratings; stream the ratings block by block into the
       rating table (one binary COPY on PostgreSQL; into an empty table, without its
       keys and indexes, rebuilt at the end; else through a staging table merged with
       ON CONFLICT ... WHERE changed); refuse or drop repeated (user, movie) pairs;
       upsert the tags; set the movie counts and means.
    4. Any bad row raises MovieLensError and the transaction leaves the database as it
       was, unless skip_bad_rows, which drops and counts it. dry_run reads and validates
       everything and writes nothing.
    """
    started = time.monotonic()
    with open_source(path) as source:
        layout = detect_layout(source)
        result = ImportResult(source=source.name, layout=layout.kind, dry_run=dry_run)
        on_bad = _BadRows(result, skip_bad_rows)

        movies = read_movies(source, layout, on_bad)
        file_ids = np.array(sorted(m.id for m in movies), dtype=np.int64)
        stored_ids = np.array(sorted(Movie.objects.values_list("id", flat=True)), dtype=np.int64)
        # Ratings may refer to the file's movies and to movies an earlier import stored.
        movie_ids = np.union1d(file_ids, stored_ids)
        links = read_links(source, layout, movie_ids, on_bad)
        result.movies, result.links = len(movies), sum(1 for link in links if link.imdb_id)

        with transaction.atomic():
            writer = _writer(dry_run)
            users = _UserMap(writer)
            result.movies_created, result.movies_updated = writer.upsert_movies(
                movies, links, has_links=bool(layout.links)
            )

            if not dry_run:
                # Every user first, so the ratings stream in one COPY with nothing in between.
                users.ids_for(scan_user_ids(source, layout), count_seen=False)
            keys: list[np.ndarray] = []
            # Per-movie count and sum of the imported ratings: on a first import they are the
            # movie stats, with no aggregate over the whole table afterwards.
            counts = np.zeros(int(movie_ids.max(initial=0)) + 1, dtype=np.int64)
            sums = np.zeros(len(counts), dtype=np.float64)
            phase = time.monotonic()
            with (
                _bar(source.size(layout.ratings), layout.ratings, progress) as bar,
                writer.ratings() as sink,
            ):
                for chunk in _prefetch(iter_ratings(source, layout, movie_ids, on_bad)):
                    bar.update(chunk.nbytes)
                    if len(chunk) == 0:
                        continue
                    keys.append(pair_keys(chunk.user, chunk.movie))
                    counts += np.bincount(chunk.movie, minlength=len(counts))
                    sums += np.bincount(chunk.movie, weights=chunk.value, minlength=len(counts))
                    sink.write(users.ids_for(chunk.user), chunk)
                    result.ratings += len(chunk)
                result.timings["ratings read and sent"] = time.monotonic() - phase
                repeats = find_duplicate_pairs(keys, lambda: iter_ratings(source, layout, movie_ids, lambda bad: None))
                for user, movie, first, line in repeats:
                    reason = f"a second rating of the same movie by the same user (first on line {first})"
                    on_bad(BadRow(layout.ratings, line, f"user {user}, movie {movie}", reason))
                if repeats:
                    # Only reached with skip_bad_rows: the first rating of the pair is kept.
                    result.ratings -= len(repeats)
                    sink.drop_repeats([(users.id_for(u), m) for u, m, _, _ in repeats])
                bar.close()
                if progress and not dry_run:
                    # The bar is full but the slowest step may be ahead: say what it is.
                    step = "rebuilding keys and indexes" if sink.bulk else "merging with the stored ratings"
                    print(f"{layout.ratings}: {step} ...", file=sys.stderr, flush=True)
                phase = time.monotonic()
            result.timings["ratings merged or indexed"] = time.monotonic() - phase
            phase = time.monotonic()

            if layout.tags:
                with _bar(source.size(layout.tags), layout.tags, progress) as bar:
                    for tag_chunk in iter_tags(source, layout, movie_ids, on_bad):
                        bar.update(tag_chunk.nbytes)
                        if not tag_chunk.rows:
                            continue
                        ml_users = np.array([row[0] for row in tag_chunk.rows], dtype=np.int64)
                        ids = users.ids_for(ml_users).tolist()
                        rows = [(uid, m, text, ts) for uid, (_, m, text, ts) in zip(ids, tag_chunk.rows, strict=True)]
                        result.tags_created += writer.insert_tags(rows)
                        result.tags += len(rows)
                result.tags_created += writer.finish_tags()

            result.timings["tags"] = time.monotonic() - phase
            phase = time.monotonic()
            result.ratings_created, result.ratings_updated = sink.created, sink.updated
            result.users, result.users_created = users.seen_count, users.created
            if result.bad_count and users.created:
                # The quick scan created users for every line; one whose lines were all bad has no data.
                unused = get_user_model().objects.filter(
                    movielens__isnull=False,
                    ratings__isnull=True,
                    tags__isnull=True,
                    username__startswith=USERNAME_PREFIX,
                )
                # Ids come from a sequence, so ">= the first created" finds them without a 160k-item IN.
                unused_ids = list(unused.filter(pk__gte=min(users.created_ids)).values_list("pk", flat=True))
                if unused_ids:
                    MovieLensAccount.objects.filter(user_id__in=unused_ids).delete()
                    get_user_model().objects.filter(pk__in=unused_ids).delete()
                    result.users_created -= len(unused_ids)
            if not dry_run and sink.bulk and not repeats:
                # The table was empty, so what was imported is all there is.
                writer.set_movie_stats(counts, sums)
            elif not dry_run:
                writer.refresh_movie_stats()
            result.timings["movie stats"] = time.monotonic() - phase
    result.seconds = time.monotonic() - started
    return result


def _prefetch(items: Iterator[RatingChunk], depth: int = 2) -> Iterator[RatingChunk]:
    """Read and parse the next blocks in a thread while the database takes this one.

    pandas, numpy and the database driver release the GIL for most of their work, so on
    two cores parsing and COPY overlap. Errors from the reader (bad rows) re-raise here.
    """
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            put((done, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((done, exc))
        finally:
            items.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=run, name="movielens-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if isinstance(item, tuple) and item[0] is done:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        thread.join()


# --- MovieLens users ------------------------------------------------------------------------------


class _UserMap:
    """MovieLens user ids to Django user ids, creating the missing users on the way.

    Two sorted arrays and searchsorted: 200k users map 25M ratings in about a second.
    """

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        pairs = np.array(list(MovieLensAccount.objects.values_list("movielens_id", "user_id")), dtype=np.int64)
        pairs = pairs.reshape(-1, 2)
        order = np.argsort(pairs[:, 0])
        self.ml = pairs[order, 0]
        self.django = pairs[order, 1]
        self.seen: list[np.ndarray] = []
        self.created = 0
        self.created_ids: list[int] = []

    @property
    def seen_count(self) -> int:
        return len(np.unique(np.concatenate(self.seen))) if self.seen else 0

    def ids_for(self, ml_ids: np.ndarray, count_seen: bool = True) -> np.ndarray:
        unique = np.unique(ml_ids)
        if count_seen:
            self.seen.append(unique)
        if len(self.seen) > 64:
            self.seen = [np.unique(np.concatenate(self.seen))]
        missing = unique[~known_mask(self.ml, unique)]
        if len(missing):
            created = self.writer.create_users(missing)
            self.created += len(missing)
            self.created_ids.extend(created.tolist())
            ml = np.concatenate([self.ml, missing])
            dj = np.concatenate([self.django, created])
            order = np.argsort(ml, kind="stable")
            self.ml, self.django = ml[order], dj[order]
        return self.django[np.searchsorted(self.ml, ml_ids)]

    def id_for(self, ml_id: int) -> int:
        return int(self.ids_for(np.array([ml_id], dtype=np.int64))[0])


# --- Writers: what differs between PostgreSQL, SQLite and a dry run --------------------------------


def _writer(dry_run: bool) -> _Writer:
    if dry_run:
        return _DryRunWriter()
    if connection.vendor == "postgresql":
        return _PostgresWriter()
    if connection.vendor == "sqlite":
        return _SqliteWriter()
    raise MovieLensError(f"importing needs PostgreSQL or SQLite, not {connection.vendor}")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


class _RatingSink:
    created = 0
    updated = 0
    bulk = False  # True when the table was empty, so the import is all it holds

    def write(self, user_ids: np.ndarray, chunk: RatingChunk) -> None:
        return None

    def drop_repeats(self, pairs: list[tuple[int, int]]) -> None:
        return None


class _Writer:
    """What the import writes, in SQL both PostgreSQL and SQLite take; subclasses do ratings and tags."""

    rating_table = Rating._meta.db_table
    tag_table = Tag._meta.db_table
    movie_table = Movie._meta.db_table
    genre_link_table = Movie.genres.through._meta.db_table

    def create_users(self, ml_ids: np.ndarray) -> np.ndarray:
        """Django users that cannot log in (unusable password) and their MovieLensAccount rows."""
        user_model = get_user_model()
        # One unusable password per batch: '!' marks it unusable, the random rest only hides the pattern.
        password = "!" + get_random_string(40)
        names = [f"{USERNAME_PREFIX}{int(i)}" for i in ml_ids]
        user_model.objects.bulk_create(
            [user_model(username=name, password=password) for name in names],
            batch_size=2000,
            ignore_conflicts=True,
        )
        by_name: dict[str, int] = {}
        for start in range(0, len(names), 900):
            batch = names[start : start + 900]
            # A person who registered as 'movielens-5' keeps their account: only unusable ones match.
            unusable = user_model.objects.filter(username__in=batch, password__startswith="!")  # noqa: S106
            by_name.update(unusable.values_list("username", "pk"))
        taken = [name for name in names if name not in by_name]
        if taken:
            raise MovieLensError(f"username {taken[0]!r} belongs to a user who can log in; rename that user first")
        ids = np.array([by_name[name] for name in names], dtype=np.int64)
        MovieLensAccount.objects.bulk_create(
            [MovieLensAccount(movielens_id=int(m), user_id=int(u)) for m, u in zip(ml_ids, ids, strict=True)],
            batch_size=2000,
            ignore_conflicts=True,
        )
        return ids

    def upsert_movies(self, movies: list[MovieRow], links: list[LinkRow], has_links: bool) -> tuple[int, int]:
        """Insert new movies, update changed titles, years, links and genres; return (created, updated).

        The catalogue is small (under 100k movies), so the comparison is done in Python and
        only new or changed rows are written: a repeated import writes no movie at all.
        """
        link_by_id = {link.movie_id: link for link in links}
        stored = {row[0]: row for row in Movie.objects.values_list("id", "title", "year", "imdb_id", "tmdb_id")}
        columns = ["id", "title", "year", "imdb_id", "tmdb_id", "ratings_count"]
        # Layouts without links.csv must not blank the links an earlier import stored.
        updated = ["title", "year"] + (["imdb_id", "tmdb_id"] if has_links else [])
        rows = []
        changed: set[int] = set()
        for movie in movies:
            link = link_by_id.get(movie.id)
            row = (movie.id, movie.title, movie.year, link.imdb_id if link else "", link.tmdb_id if link else None)
            old = stored.get(movie.id)
            if old is None or old[: len(updated) + 1] != row[: len(updated) + 1]:
                rows.append((*row, 0))
                if old is not None:
                    changed.add(movie.id)
        table = _q(self.movie_table)
        sql = (
            f"INSERT INTO {table} ({', '.join(_q(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({_q('id')}) DO UPDATE SET {', '.join(f'{_q(c)} = EXCLUDED.{_q(c)}' for c in updated)}"
        )
        with connection.cursor() as cursor:
            for start in range(0, len(rows), SQL_BATCH):
                cursor.executemany(sql, rows[start : start + SQL_BATCH])
        changed |= self._set_genres(movies) & stored.keys()
        return len(rows) - len(changed & {r[0] for r in rows}), len(changed)

    def _set_genres(self, movies: list[MovieRow]) -> set[int]:
        """Make each movie's genres those of the file; return the ids of movies whose genres changed."""
        names = sorted({g for m in movies for g in m.genres})
        Genre.objects.bulk_create([Genre(name=n) for n in names], ignore_conflicts=True)
        genre_id = dict(Genre.objects.filter(name__in=names).values_list("name", "id")) if names else {}
        wanted = {(m.id, genre_id[g]) for m in movies for g in m.genres}
        file_ids = {m.id for m in movies}
        through = Movie.genres.through
        have = {pair for pair in through.objects.values_list("movie_id", "genre_id") if pair[0] in file_ids}
        to_add = wanted - have
        to_remove = have - wanted
        through.objects.bulk_create(
            [through(movie_id=m, genre_id=g) for m, g in sorted(to_add)], batch_size=5000, ignore_conflicts=True
        )
        if to_remove:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"DELETE FROM {_q(self.genre_link_table)} WHERE movie_id = %s AND genre_id = %s", sorted(to_remove)
                )
        return {m for m, _ in to_add | to_remove}

    @contextmanager
    def ratings(self) -> Iterator[_RatingSink]:
        raise NotImplementedError

    def finish_tags(self) -> int:
        """Called after the last batch of tags; returns tags created beyond those insert_tags reported."""
        return 0

    def insert_tags(self, rows: list[tuple[int, int, str, int]]) -> int:
        """Insert tags not already there (a tag is its user, movie, text and time); return how many."""
        raise NotImplementedError

    def set_movie_stats(self, counts: np.ndarray, sums: np.ndarray) -> None:
        """Store per-movie count and mean from the imported ratings (movie id = index)."""
        ids = np.flatnonzero(counts)
        rows = list(zip(ids.tolist(), counts[ids].tolist(), sums[ids].tolist(), strict=True))
        movie = _q(self.movie_table)
        # The mean is computed and rounded in SQL, as refresh_movie_stats does, so both give the same value.
        mean = "round(CAST(%s / %s AS numeric), 4)" if connection.vendor == "postgresql" else "round(%s / %s, 4)"
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {movie} SET ratings_count = 0, ratings_mean = NULL WHERE ratings_count <> 0")
            for start in range(0, len(rows), SQL_BATCH):
                cursor.executemany(
                    f"UPDATE {movie} SET ratings_count = %s, ratings_mean = {mean} WHERE id = %s",
                    [(n, total, n, movie_id) for movie_id, n, total in rows[start : start + SQL_BATCH]],
                )

    def refresh_movie_stats(self) -> None:
        """Recompute ratings_count and ratings_mean of every movie in two set-based statements."""
        movie, rating = _q(self.movie_table), _q(self.rating_table)
        # Rounded so a recount gives the same number whatever order the database summed in.
        mean = "round(CAST(avg(value) AS numeric), 4)" if connection.vendor == "postgresql" else "round(avg(value), 4)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {movie} SET ratings_count = s.n, ratings_mean = s.mean "
                f"FROM (SELECT movie_id, count(*) AS n, {mean} AS mean FROM {rating} GROUP BY movie_id) AS s "
                f"WHERE {movie}.id = s.movie_id AND ({movie}.ratings_count <> s.n "
                f"OR {movie}.ratings_mean IS NULL OR {movie}.ratings_mean <> s.mean)"
            )
            cursor.execute(
                f"UPDATE {movie} SET ratings_count = 0, ratings_mean = NULL "
                f"WHERE (ratings_count <> 0 OR ratings_mean IS NOT NULL) "
                f"AND NOT EXISTS (SELECT 1 FROM {rating} r WHERE r.movie_id = {movie}.id)"
            )


class _DryRunWriter(_Writer):
    """Validates like an import and writes nothing; new users get placeholder ids."""

    def __init__(self) -> None:
        self.next_id = -1

    def create_users(self, ml_ids: np.ndarray) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id - len(ml_ids), -1, dtype=np.int64)
        self.next_id -= len(ml_ids)
        return ids

    def upsert_movies(self, movies: list[MovieRow], links: list[LinkRow], has_links: bool) -> tuple[int, int]:
        return 0, 0

    @contextmanager
    def ratings(self) -> Iterator[_RatingSink]:
        yield _RatingSink()

    def insert_tags(self, rows: list[tuple[int, int, str, int]]) -> int:
        return 0


# --- PostgreSQL: COPY -----------------------------------------------------------------------------

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

    Loading a bare table runs about 16x faster than one whose indexes are kept up to
    date row by row (measured here: COPY 1.57M rows/s bare, 98k rows/s indexed; even the
    primary key alone halves the rate), and foreign keys checked row by row at commit
    are slower still. Nothing references these tables' primary keys. It all happens in the
    import's transaction, so a failure puts the indexes back with everything else.
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
        cursor.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
        rebuild.append(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    for name, definition in indexes:
        cursor.execute(f"DROP INDEX {_q(name)}")
        rebuild.append(definition)
    # Keys first (an index build each), then plain indexes, then foreign keys (a join each).
    rebuild.sort(key=lambda ddl: 0 if " PRIMARY KEY" in ddl or " UNIQUE" in ddl else 2 if "FOREIGN KEY" in ddl else 1)
    return rebuild


def _rebuild(cursor: Any, table: str, ddl: list[str]) -> None:
    # Sorting 25M keys in memory instead of in 64 MB runs on disk halves the index builds.
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    for statement in ddl:
        cursor.execute(statement)
    cursor.execute(f"ANALYZE {_q(table)}")


class _PostgresRatings(_RatingSink):
    """COPY straight into an empty rating table, or into a staging table merged at the end.

    The users are created before the ratings, so one COPY streams every block and
    PostgreSQL never waits for Python between blocks. A connection runs no other
    statement while a COPY is open, so anything else (a late user) closes it first.
    """

    def __init__(self, cursor: Any, table: str) -> None:
        self.cursor = cursor
        self.table = table
        # Writers wait until the import commits; readers of the site go on.
        cursor.execute(f"LOCK TABLE {_q(table)} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(table)})")
        self.bulk = not cursor.fetchone()[0]
        self.created_ddl: list[str] = []
        if self.bulk:
            self.created_ddl = _drop_rebuildable(cursor, table)
            self.target = f"{_q(table)} (user_id, movie_id, value, rated_at)"
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
                f"DELETE FROM {_q(self.table)} r USING ("
                f"  SELECT user_id, movie_id, min(id) AS keep FROM {_q(self.table)}"
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
        table = _q(self.table)
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


class _PostgresWriter(_Writer):
    sink: _PostgresRatings | None = None

    @contextmanager
    def ratings(self) -> Iterator[_RatingSink]:
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
        user_table = _q(get_user_model()._meta.db_table)
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
                f"INSERT INTO {_q(MovieLensAccount._meta.db_table)} (movielens_id, user_id) "
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
        table = _q(self.tag_table)
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


# --- SQLite: big executemany batches --------------------------------------------------------------

_SQLITE_TIME = "strftime('%Y-%m-%d %H:%M:%S', ?, 'unixepoch')"  # the text Django stores for a datetime


class _SqliteRatings(_RatingSink):
    """Insert straight into an empty table (its movie index dropped meanwhile), else stage and merge."""

    def __init__(self, raw: Any, table: str) -> None:
        self.raw = raw
        self.table = table
        self.cursor = raw.cursor()
        self.cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(table)})")
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
                self.cursor.execute(f"DROP INDEX {_q(name)}")
                self.rebuild.append(sql)
            self.sql = (
                f"INSERT INTO {_q(table)} (user_id, movie_id, value, rated_at) VALUES (?, ?, ?, {_SQLITE_TIME}) "
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
        table = _q(self.table)
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


class _SqliteWriter(_Writer):
    @contextmanager
    def ratings(self) -> Iterator[_RatingSink]:
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
            f"INSERT INTO {_q(self.tag_table)} (user_id, movie_id, text, tagged_at) VALUES (?, ?, ?, {_SQLITE_TIME}) "
            "ON CONFLICT DO NOTHING",
            rows,
        )
        return raw.total_changes - before


# --- Download -------------------------------------------------------------------------------------


def movielens_base_url() -> str:
    """GroupLens, or a mirror (tests use a local http.server) from MOVIELENS_BASE_URL."""
    return (
        getattr(settings, "MOVIELENS_BASE_URL", None) or os.environ.get("MOVIELENS_BASE_URL") or DEFAULT_BASE_URL
    ).rstrip("/")


def _fetch(url: str, out: IO[bytes], progress: bool, desc: str) -> str:
    """Stream url into out; return its md5."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - http(s) URL we built
        total = int(response.headers.get("Content-Length") or 0)
        with _bar(total, desc, progress) as bar:
            while block := response.read(1024 * 1024):
                digest.update(block)
                out.write(block)
                bar.update(len(block))
    return digest.hexdigest()


def movielens_download(*, name: str, dest_dir: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """Download NAME.zip from GroupLens (or MOVIELENS_BASE_URL), check it, return its path.

    The md5 GroupLens publishes next to each zip is checked when there is one; the
    file must be a zip whose members pass their CRC. It is written under a temporary
    name and renamed only once checked, so a broken download never looks finished.
    """
    if name not in DATASETS:
        raise MovieLensError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if not re.fullmatch(r"[a-z0-9-]+", name):  # belt and braces: the name becomes a URL and a file name
        raise MovieLensError(f"bad data set name {name!r}")
    dest = Path(dest_dir) if dest_dir else Path(settings.VAR_DIR) / "movielens"
    dest.mkdir(parents=True, exist_ok=True)
    url = f"{movielens_base_url()}/{name}.zip"
    final = dest / f"{name}.zip"
    part = dest / f"{name}.zip.part"
    try:
        with part.open("wb") as out:
            actual = _fetch(url, out, progress, f"{name}.zip")
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"could not download {url}: {exc}") from exc
    expected = _published_md5(f"{url}.md5")
    if expected is not None and expected != actual:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"{name}.zip: checksum mismatch (md5 {actual}, GroupLens publishes {expected})")
    try:
        with zipfile.ZipFile(part) as archive:
            broken = archive.testzip()
    except zipfile.BadZipFile as exc:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"{name}.zip from {url} is not a valid zip ({exc})") from exc
    if broken is not None:
        part.unlink(missing_ok=True)
        raise MovieLensError(f"{name}.zip: member {broken!r} fails its CRC check")
    shutil.move(part, final)
    return final


def _published_md5(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http(s) URL we built
            text = response.read(4096).decode("ascii", "replace")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None  # not every release has one; the zip check still runs
        raise MovieLensError(f"could not download {url}: {exc}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise MovieLensError(f"could not download {url}: {exc}") from exc
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if not match:
        raise MovieLensError(f"{url} holds no md5 checksum")
    return match.group(0).lower()
