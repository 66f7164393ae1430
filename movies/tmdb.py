"""Posters and plots from TMDb: fetched once per movie, kept on disk, stored as TmdbDetails.

Only `manage.py fetch_tmdb` calls this, and only with an API key. Each answer is written to
the cache folder before its row is stored, and a movie with a row is done: a run that stops
(Ctrl-C, network gone) continues where it stopped, and a re-run asks TMDb nothing twice.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from tqdm import tqdm

from movies.models import Movie, TmdbDetails

TIMEOUT_SECONDS = 20
RETRIES = 3  # a 429 ("too many requests") or a dropped connection is tried again after a pause


class TmdbError(Exception):
    """TMDb refused us as a whole (a wrong key): stop, nothing more can succeed."""


@dataclass
class TmdbRun:
    fetched: int = 0  # asked TMDb
    cached: int = 0  # answered from the cache folder
    missing: int = 0  # TMDb has no such movie
    failed: int = 0  # left for the next run
    stored: list[int] = field(default_factory=list)  # movie ids whose row was written


@dataclass(frozen=True)
class TmdbClient:
    api_key: str
    base_url: str
    per_second: float
    sleep: Callable[[float], None] = time.sleep

    def movie(self, tmdb_id: int) -> dict | None:
        """TMDb's answer for one movie, None when it has no such movie."""
        query = urllib.parse.urlencode({"api_key": self.api_key})
        url = f"{self.base_url.rstrip('/')}/movie/{tmdb_id}?{query}"
        for attempt in range(RETRIES + 1):
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) from settings)
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code == 401:
                    raise TmdbError("TMDb refused the API key (401): check TMDB_API_KEY") from None
                if error.code != 429 or attempt == RETRIES:
                    raise
                self.sleep(float(error.headers.get("Retry-After") or 1))
            except urllib.error.URLError:
                if attempt == RETRIES:
                    raise
                self.sleep(2**attempt)
        raise AssertionError("unreachable")


def _cached_answer(cache_dir: Path, tmdb_id: int) -> dict | None:
    path = cache_dir / f"{tmdb_id}.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _cache_answer(cache_dir: Path, tmdb_id: int, answer: dict) -> None:
    # Write then rename: a run stopped mid-write leaves no half file that a later run would trust.
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f"{tmdb_id}.json.partial"
    partial.write_text(json.dumps(answer), "utf-8")
    os.replace(partial, cache_dir / f"{tmdb_id}.json")


def tmdb_details_fetch(
    *, client: TmdbClient, cache_dir: Path, limit: int | None = None, progress: bool = True
) -> TmdbRun:
    """Fetch plot and poster for every movie with a TMDb id and no TmdbDetails row yet.

    1. Take those movies, most rated first (the ones people open come first).
    2. For each, read the cached answer, or ask TMDb (at most client.per_second requests a
       second) and cache the answer; a movie TMDb does not know is cached as missing.
    3. Store its row at once, so a stop loses at most the movie being fetched.
    """
    todo = (
        Movie.objects.filter(tmdb_id__isnull=False, tmdb__isnull=True)
        .order_by("-ratings_count", "id")
        .values_list("id", "tmdb_id")
    )
    rows = list(todo[:limit] if limit else todo)
    run = TmdbRun()
    gap = 1.0 / client.per_second if client.per_second > 0 else 0.0
    last_request = 0.0
    for movie_id, tmdb_id in tqdm(rows, desc="TMDb", unit="movie", disable=not progress):
        answer = _cached_answer(cache_dir, tmdb_id)
        if answer is None:
            wait = last_request + gap - time.monotonic()
            if wait > 0:
                client.sleep(wait)
            last_request = time.monotonic()
            try:
                found = client.movie(tmdb_id)
            except (urllib.error.URLError, TimeoutError, ValueError):
                run.failed += 1  # no row: the next run tries again
                continue
            answer = found if found is not None else {"missing": True}
            _cache_answer(cache_dir, tmdb_id, answer)
            run.fetched += 1
        else:
            run.cached += 1
        run.missing += bool(answer.get("missing"))
        TmdbDetails.objects.update_or_create(
            movie_id=movie_id,
            defaults={
                "plot": (answer.get("overview") or "").strip(),
                "poster_path": (answer.get("poster_path") or "")[:200],
                "fetched_at": timezone.now(),
            },
        )
        run.stored.append(movie_id)
    return run
