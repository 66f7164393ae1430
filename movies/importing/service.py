"""Importing MovieLens data sets into the catalogue: the service behind `import_movielens`.

The readers (movies.importers) parse and validate; this service decides what to
write and how: one transaction per import, set-based SQL, COPY on PostgreSQL.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from movies.catalogue_generation import catalogue_changed
from movies.importers import (
    BadRow,
    MovieLensError,
    detect_layout,
    find_duplicate_pairs,
    iter_ratings,
    iter_tags,
    open_source,
    pair_keys,
    raise_bad,
    read_links,
    read_movies,
    scan_user_ids,
)
from movies.importing.postgres import PostgresWriter
from movies.importing.prefetch import prefetch
from movies.importing.progress import progress_bar
from movies.importing.sqlite import SqliteWriter
from movies.importing.users import UserMap
from movies.importing.writers import USERNAME_PREFIX, DryRunWriter, Writer
from movies.models import Movie, MovieLensAccount

# Bad rows printed in full; past this only the count grows, so a broken file cannot flood the terminal.
BAD_ROWS_LISTED = 100


@dataclass
class Counts:
    """Rows of each kind an import reads, creates or updates."""

    movies: int = 0
    ratings: int = 0
    tags: int = 0
    users: int = 0

    @property
    def total(self) -> int:
        return self.movies + self.ratings + self.tags + self.users


@dataclass
class ImportResult:
    """What one import read (links: those with an IMDb id) and what it created and updated."""

    source: str
    layout: str
    dry_run: bool = False
    read: Counts = field(default_factory=Counts)
    links: int = 0
    created: Counts = field(default_factory=Counts)
    updated: Counts = field(default_factory=Counts)
    bad_rows: list[BadRow] = field(default_factory=list)
    bad_count: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.created.total + self.updated.total

    def summary(self) -> str:
        verb = "validated (dry run, nothing written)" if self.dry_run else "imported"
        read, created, updated = self.read, self.created, self.updated
        line = (
            f"{verb} {read.ratings:,} ratings, {read.movies:,} movies, {read.tags:,} tags, "
            f"{read.users:,} users from {self.source} in {self.seconds:.1f} s"
        )
        if not self.dry_run:
            line += (
                f"; new: {created.ratings:,} ratings, {created.movies:,} movies, {created.tags:,} tags,"
                f" {created.users:,} users; updated: {updated.ratings:,} ratings, {updated.movies:,} movies"
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
        result.read.movies, result.links = len(movies), sum(1 for link in links if link.imdb_id)

        with transaction.atomic():
            writer = writer_for(dry_run)
            users = UserMap(writer)
            result.created.movies, result.updated.movies = writer.upsert_movies(
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
                progress_bar(source.size(layout.ratings), layout.ratings, progress) as bar,
                writer.ratings() as sink,
            ):
                for chunk in prefetch(iter_ratings(source, layout, movie_ids, on_bad)):
                    bar.update(chunk.nbytes)
                    if len(chunk) == 0:
                        continue
                    keys.append(pair_keys(chunk.user, chunk.movie))
                    counts += np.bincount(chunk.movie, minlength=len(counts))
                    sums += np.bincount(chunk.movie, weights=chunk.value, minlength=len(counts))
                    sink.write(users.ids_for(chunk.user), chunk)
                    result.read.ratings += len(chunk)
                result.timings["ratings read and sent"] = time.monotonic() - phase
                repeats = find_duplicate_pairs(keys, lambda: iter_ratings(source, layout, movie_ids, lambda bad: None))
                for user, movie, first, line in repeats:
                    reason = f"a second rating of the same movie by the same user (first on line {first})"
                    on_bad(BadRow(layout.ratings, line, f"user {user}, movie {movie}", reason))
                if repeats:
                    # Only reached with skip_bad_rows: the first rating of the pair is kept.
                    result.read.ratings -= len(repeats)
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
                with progress_bar(source.size(layout.tags), layout.tags, progress) as bar:
                    for tag_chunk in iter_tags(source, layout, movie_ids, on_bad):
                        bar.update(tag_chunk.nbytes)
                        if not tag_chunk.rows:
                            continue
                        ml_users = np.array([row[0] for row in tag_chunk.rows], dtype=np.int64)
                        ids = users.ids_for(ml_users).tolist()
                        rows = [(uid, m, text, ts) for uid, (_, m, text, ts) in zip(ids, tag_chunk.rows, strict=True)]
                        result.created.tags += writer.insert_tags(rows)
                        result.read.tags += len(rows)
                result.created.tags += writer.finish_tags()

            result.timings["tags"] = time.monotonic() - phase
            phase = time.monotonic()
            result.created.ratings, result.updated.ratings = sink.created, sink.updated
            result.read.users, result.created.users = users.seen_count, users.created
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
                    result.created.users -= len(unused_ids)
            if not dry_run and sink.bulk and not repeats:
                # The table was empty, so what was imported is all there is.
                writer.set_movie_stats(counts, sums)
            elif not dry_run:
                writer.refresh_movie_stats()
            if not dry_run:
                catalogue_changed()  # the importer writes rows in bulk, past movies/row_cache.py
            result.timings["movie stats"] = time.monotonic() - phase
    result.seconds = time.monotonic() - started
    return result


def writer_for(dry_run: bool) -> Writer:
    if dry_run:
        return DryRunWriter()
    if connection.vendor == "postgresql":
        return PostgresWriter()
    if connection.vendor == "sqlite":
        return SqliteWriter()
    raise MovieLensError(f"importing needs PostgreSQL or SQLite, not {connection.vendor}")
