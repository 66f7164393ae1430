"""Synthetic MovieLens data shaped like ML-25M, for benchmarks and machines without the real files.

At scale 1.0: 162,541 users, 59,047 movies and 25,000,095 ratings; Zipf-like movie
popularity, heavy-tailed user activity with at least 20 ratings per user, one rating
per (user, movie), half stars that follow a latent user/movie taste (so a recommender
has something to learn) and timestamps from 1995 to 2019. Users are generated in
batches, so memory stays at one batch (a few hundred MB) whatever the scale, and the
files are written as the batches come. Pure numpy; no Django here.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ML25M_USERS = 162_541
ML25M_MOVIES = 59_047
ML25M_RATINGS = 25_000_095
ML25M_TAGS = 1_093_360
MIN_RATINGS_PER_USER = 20
USERS_PER_BATCH = 8_000
TASTE_DIM = 8
GENRES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
TAG_WORDS = (
    "atmospheric", "twist ending", "funny", "dark comedy", "visually appealing", "based on a book",
    "sci-fi", "thought-provoking", "classic", "great soundtrack", "slow", "overrated", "quirky",
    "cult film", "dystopia", "BD-R", "Oscar (Best Picture)", "time travel", "nonlinear", "remake",
)  # fmt: skip
_START = 788_918_400  # 1995-01-01
_END = 1_574_208_000  # 2019-11-20, the last day in ML-25M


@dataclass(frozen=True)
class Shape:
    """Sizes of a synthetic data set at a given scale."""

    users: int
    movies: int
    ratings: int
    tags: int

    @classmethod
    def at(cls, scale: float) -> Shape:
        users = max(round(ML25M_USERS * scale), 10)
        # The catalogue shrinks with the square root of the scale: shrunk linearly, a small
        # sample would be so dense that every user rates half the catalogue and nothing is skewed.
        movies = max(round(ML25M_MOVIES * max(scale, scale**0.5)), 100)
        # The catalogue shrinks with the scale: each user's count is capped to half of it.
        ratings = max(round(ML25M_RATINGS * scale), users * MIN_RATINGS_PER_USER)
        ratings = min(ratings, users * (movies // 2))
        return cls(users, movies, ratings, round(ML25M_TAGS * scale))


@dataclass
class RatingBatch:
    """Ratings of a batch of users, sorted by user then movie."""

    user: np.ndarray  # int32 MovieLens user ids, from 1
    movie: np.ndarray  # int32 MovieLens movie ids (sparse, like the real ones)
    rating: np.ndarray  # float32 half stars
    timestamp: np.ndarray  # int64 seconds since 1970


@dataclass(frozen=True)
class SyntheticRatings:
    user: np.ndarray
    movie: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray


class _World:
    """The latent state everything is drawn from: popularity, taste, activity."""

    def __init__(self, shape: Shape, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.shape = shape
        self.seed = seed
        n, m = shape.users, shape.movies
        # Real ids have gaps (ML-25M's 59,047 movies go up to id 209,171).
        self.movie_ids = np.sort(rng.choice(np.arange(1, int(m * 3.5) + 2), size=m, replace=False)).astype(np.int32)
        # Zipf-like popularity over a random order of the catalogue, mixed with a little
        # uniform mass so heavy users can still find enough distinct movies in the tail.
        rank = rng.permutation(m)
        zipf = 1.0 / (rank + 10.0) ** 1.05
        self.popularity = 0.9 * zipf / zipf.sum() + 0.1 / m
        self.cumulative = np.cumsum(self.popularity)
        self.cumulative[-1] = 1.0
        log_pop = np.log(self.popularity)
        self.movie_bias = (rng.normal(0.0, 0.45, m) + 0.2 * (log_pop - log_pop.mean()) / log_pop.std()).astype(
            np.float32
        )
        self.movie_taste = rng.normal(0.0, 1.0, (m, TASTE_DIM)).astype(np.float32)
        # Heavy-tailed activity: 20 + a log-normal, rescaled so the total hits the target.
        extra = rng.lognormal(mean=3.6, sigma=1.25, size=n)
        cap = max(m // 2, MIN_RATINGS_PER_USER)
        wanted = shape.ratings - MIN_RATINGS_PER_USER * n
        counts = np.minimum(extra * (wanted / extra.sum()), cap - MIN_RATINGS_PER_USER)
        counts = np.floor(counts).astype(np.int64)
        # Hand out what rounding and the cap left over, one rating at a time, to users with room.
        short = wanted - int(counts.sum())
        while short > 0:
            room = np.flatnonzero(counts < cap - MIN_RATINGS_PER_USER)
            if len(room) == 0:
                break
            take = rng.choice(room, size=min(short, len(room)), replace=False)
            counts[take] += 1
            short -= len(take)
        self.counts = counts + MIN_RATINGS_PER_USER

    def batches(self) -> Iterator[RatingBatch]:
        n = self.shape.users
        for start in range(0, n, USERS_PER_BATCH):
            stop = min(start + USERS_PER_BATCH, n)
            # Each batch has its own stream, so a batch does not depend on the ones before.
            rng = np.random.default_rng([self.seed, start])
            yield self._batch(rng, start, stop)

    def _batch(self, rng: np.random.Generator, start: int, stop: int) -> RatingBatch:
        m = self.shape.movies
        want = self.counts[start:stop]
        size = stop - start
        local = np.zeros(0, dtype=np.int64)
        movie = np.zeros(0, dtype=np.int64)
        missing = want.copy()
        # Draw with replacement, keep distinct pairs, draw again for users still short;
        # heavy users need the tail, so each round draws twice as generously as the last.
        round_ = 0
        while missing.sum() > 0:
            draws = (missing * 1.3 * 2**round_ + 8).astype(np.int64) * (missing > 0)
            round_ += 1
            new_local = np.repeat(np.arange(size), draws)
            new_movie = np.searchsorted(self.cumulative, rng.random(len(new_local)))
            keys = np.sort(np.concatenate([local * m + movie, new_local * m + new_movie]))
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
            local, movie = keys // m, keys % m
            have = np.bincount(local, minlength=size)
            missing = np.maximum(want - have, 0)
        # Keep a random subset of exactly want[u] movies per user (not the lowest indexes).
        order = np.lexsort((rng.random(len(local)), local))
        local, movie = local[order], movie[order]
        first = np.searchsorted(local, np.arange(size))
        keep = (np.arange(len(local)) - first[local]) < want[local]
        local, movie = local[keep], movie[keep]
        order = np.lexsort((self.movie_ids[movie], local))
        local, movie = local[order], movie[order]

        user_bias = rng.normal(0.0, 0.4, size).astype(np.float32)
        user_taste = rng.normal(0.0, 1.0, (size, TASTE_DIM)).astype(np.float32)
        affinity = np.einsum("ij,ij->i", user_taste[local], self.movie_taste[movie]) / np.sqrt(TASTE_DIM)
        score = 3.4 + user_bias[local] + self.movie_bias[movie] + 0.6 * affinity + rng.normal(0.0, 0.5, len(local))
        # A third of the users, like early MovieLens, only give whole stars.
        whole = (rng.random(size) < 0.35)[local]
        rating = np.where(whole, np.round(score), np.round(score * 2) / 2)
        rating = np.clip(rating, np.where(whole, 1.0, 0.5), 5.0).astype(np.float32)

        first_seen = rng.uniform(_START, _END - 86_400, size)
        span = np.minimum(rng.exponential(200 * 86_400, size), _END - first_seen)
        timestamp = (first_seen[local] + rng.random(len(local)) * span[local]).astype(np.int64)
        return RatingBatch(
            user=(local + start + 1).astype(np.int32),
            movie=self.movie_ids[movie],
            rating=rating,
            timestamp=timestamp,
        )


def iter_synthetic_ratings(*, scale: float = 1.0, seed: int = 0) -> Iterator[RatingBatch]:
    """Ratings in batches of users; the same scale and seed give the same ratings."""
    yield from _World(Shape.at(scale), seed).batches()


def synthetic_ratings(*, scale: float = 1.0, seed: int = 0) -> SyntheticRatings:
    """All ratings as numpy arrays, without writing files (about 500 MB at scale 1.0).

    Returns user ids (int32), movie ids (int32), ratings (float32 half stars) and
    timestamps (int64), sorted by user then movie; the same as write_movielens writes.
    """
    batches = list(iter_synthetic_ratings(scale=scale, seed=seed))
    return SyntheticRatings(
        user=np.concatenate([b.user for b in batches]),
        movie=np.concatenate([b.movie for b in batches]),
        rating=np.concatenate([b.rating for b in batches]),
        timestamp=np.concatenate([b.timestamp for b in batches]),
    )


_RATING_TEXT = np.array([f"{v / 2:.1f}".encode() for v in range(11)])


def _ratings_csv(batch: RatingBatch) -> bytes:
    """The batch as ratings.csv lines; numpy string ops, much faster than DataFrame.to_csv."""
    columns = [
        batch.user.astype("S10"),
        batch.movie.astype("S10"),
        _RATING_TEXT[np.round(batch.rating * 2).astype(np.int64)],
        batch.timestamp.astype("S12"),
    ]
    lines = columns[0]
    for column in columns[1:]:
        lines = np.char.add(np.char.add(lines, b","), column)
    return b"\n".join(lines.tolist()) + b"\n"


def write_movielens(
    out_dir: str | os.PathLike[str], *, scale: float = 1.0, seed: int = 0, progress: bool = False
) -> Shape:
    """Write ratings.csv, movies.csv, tags.csv and links.csv in the ML-25M csv layout.

    Files are written under temporary names and renamed at the end, so a folder with a
    ratings.csv is always complete. Returns the sizes actually written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shape = Shape.at(scale)
    world = _World(shape, seed)
    rng = np.random.default_rng([seed, 1])
    tag_share = shape.tags / shape.ratings
    written = tags_written = 0

    with (
        (out / "ratings.csv.part").open("wb") as ratings_file,
        (out / "tags.csv.part").open("w", newline="", encoding="utf-8") as tags_file,
    ):
        ratings_file.write(b"userId,movieId,rating,timestamp\n")
        tags = csv.writer(tags_file, lineterminator="\n")
        tags.writerow(["userId", "movieId", "tag", "timestamp"])
        batches = world.batches()
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, total=-(-shape.users // USERS_PER_BATCH), desc="synthetic ratings", unit="batch")
        for batch in batches:
            ratings_file.write(_ratings_csv(batch))
            written += len(batch.user)
            # Tags go on rated pairs (each pair at most once, so tags are unique), a little later.
            picked = np.flatnonzero(rng.random(len(batch.user)) < tag_share)
            words = rng.integers(0, len(TAG_WORDS), len(picked))
            delay = rng.integers(0, 86_400, len(picked))
            for i, w, d in zip(picked.tolist(), words.tolist(), delay.tolist(), strict=True):
                tags.writerow([int(batch.user[i]), int(batch.movie[i]), TAG_WORDS[w], int(batch.timestamp[i]) + d])
            tags_written += len(picked)

    with (out / "movies.csv.part").open("w", newline="", encoding="utf-8") as movies_file:
        movies = csv.writer(movies_file, lineterminator="\n")
        movies.writerow(["movieId", "title", "genres"])
        years = rng.integers(1915, 2020, shape.movies)
        genre_counts = rng.integers(1, 4, shape.movies)
        for i, (movie_id, year, k) in enumerate(
            zip(world.movie_ids.tolist(), years.tolist(), genre_counts.tolist(), strict=True)
        ):
            genres = "|".join(sorted(rng.choice(GENRES, size=k, replace=False)))
            # Some titles carry a comma, as real ones do ("American President, The (1995)"), so quoting is exercised.
            title = (
                f"Synthetic Movie {movie_id}, The ({year})" if i % 7 == 0 else f"Synthetic Movie {movie_id} ({year})"
            )
            movies.writerow([movie_id, title, genres])
    with (out / "links.csv.part").open("w", newline="", encoding="utf-8") as links_file:
        links = csv.writer(links_file, lineterminator="\n")
        links.writerow(["movieId", "imdbId", "tmdbId"])
        for movie_id in world.movie_ids.tolist():
            links.writerow([movie_id, f"{100000 + movie_id * 7:07d}", movie_id + 100])

    for name in ("movies.csv", "links.csv", "tags.csv", "ratings.csv"):
        os.replace(out / f"{name}.part", out / name)
    return Shape(users=shape.users, movies=shape.movies, ratings=written, tags=tags_written)


def write_movielens_sample(out_dir: str | os.PathLike[str], scale: float = 0.01, seed: int = 0) -> Path:
    """A small MovieLens-format folder (about 250,000 ratings at 0.01) for `make run` without data."""
    write_movielens(out_dir, scale=scale, seed=seed)
    return Path(out_dir)
