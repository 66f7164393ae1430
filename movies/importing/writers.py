"""What an import writes, in SQL both PostgreSQL and SQLite take, and the dry run that writes nothing."""
# ruff: noqa: S608 - the SQL here interpolates only table names from model _meta, quoted; values are parameters

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.crypto import get_random_string

from movies.importers import LinkRow, MovieLensError, MovieRow, RatingChunk
from movies.models import Genre, Movie, MovieLensAccount, Rating, Tag
from movies.totals import mean_sql, movie_totals_recount

USERNAME_PREFIX = "movielens-"
SQL_BATCH = 20_000


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


class RatingSink:
    created = 0
    updated = 0
    bulk = False  # True when the table was empty, so the import is all it holds

    def write(self, user_ids: np.ndarray, chunk: RatingChunk) -> None:
        return None

    def drop_repeats(self, pairs: list[tuple[int, int]]) -> None:
        return None


class Writer:
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
        columns = ["id", "title", "year", "imdb_id", "tmdb_id", "ratings_count", "ratings_sum"]
        # Layouts without links.csv must not blank the links an earlier import stored.
        updated = ["title", "year"] + (["imdb_id", "tmdb_id"] if has_links else [])
        rows = []
        changed: set[int] = set()
        for movie in movies:
            link = link_by_id.get(movie.id)
            row = (movie.id, movie.title, movie.year, link.imdb_id if link else "", link.tmdb_id if link else None)
            old = stored.get(movie.id)
            if old is None or old[: len(updated) + 1] != row[: len(updated) + 1]:
                rows.append((*row, 0, 0.0))
                if old is not None:
                    changed.add(movie.id)
        table = quote(self.movie_table)
        sql = (
            f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({quote('id')}) DO UPDATE SET "
            f"{', '.join(f'{quote(c)} = EXCLUDED.{quote(c)}' for c in updated)}"
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
                    f"DELETE FROM {quote(self.genre_link_table)} WHERE movie_id = %s AND genre_id = %s",
                    sorted(to_remove),
                )
        return {m for m, _ in to_add | to_remove}

    @contextmanager
    def ratings(self) -> Iterator[RatingSink]:
        raise NotImplementedError

    def finish_tags(self) -> int:
        """Called after the last batch of tags; returns tags created beyond those insert_tags reported."""
        return 0

    def insert_tags(self, rows: list[tuple[int, int, str, int]]) -> int:
        """Insert tags not already there (a tag is its user, movie, text and time); return how many."""
        raise NotImplementedError

    def set_movie_stats(self, counts: np.ndarray, sums: np.ndarray) -> None:
        """Store per-movie count, sum and mean from the imported ratings (movie id = index)."""
        ids = np.flatnonzero(counts)
        rows = list(zip(ids.tolist(), counts[ids].tolist(), sums[ids].tolist(), strict=True))
        movie = quote(self.movie_table)
        # The mean is computed and rounded in SQL, as every rating write does, so both give the same value.
        mean = mean_sql("%s", "%s")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {movie} SET ratings_count = 0, ratings_sum = 0, ratings_mean = NULL "
                f"WHERE ratings_count <> 0 OR ratings_sum <> 0"
            )
            for start in range(0, len(rows), SQL_BATCH):
                cursor.executemany(
                    f"UPDATE {movie} SET ratings_count = %s, ratings_sum = %s, ratings_mean = {mean} WHERE id = %s",
                    [(n, total, total, n, movie_id) for movie_id, n, total in rows[start : start + SQL_BATCH]],
                )

    def refresh_movie_stats(self) -> None:
        """Recompute the totals of every movie whose ratings changed (movies.totals' exact recount)."""
        movie_totals_recount(movie_table=self.movie_table, rating_table=self.rating_table)


class DryRunWriter(Writer):
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
    def ratings(self) -> Iterator[RatingSink]:
        yield RatingSink()

    def insert_tags(self, rows: list[tuple[int, int, str, int]]) -> int:
        return 0
