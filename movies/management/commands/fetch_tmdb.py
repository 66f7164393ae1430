"""manage.py fetch_tmdb: thin; the work is in movies.tmdb."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from movies.management.progress import ProgressCommand
from movies.tmdb import TmdbClient, TmdbError, tmdb_details_fetch
from recommender.services.sections import movie_sections_forget


class Command(ProgressCommand):
    help = "Fetch posters and plots from TMDb for movies that have none yet (needs TMDB_API_KEY)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="Fetch at most this many movies (most rated first).")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.TMDB_API_KEY:
            self.stdout.write("TMDB_API_KEY is not set: nothing fetched (pages show no posters or plots).")
            return
        client = TmdbClient(
            api_key=settings.TMDB_API_KEY,
            base_url=settings.TMDB_API_URL,
            per_second=settings.TMDB_REQUESTS_PER_SECOND,
        )
        started = time.monotonic()
        try:
            run = tmdb_details_fetch(
                client=client,
                cache_dir=settings.TMDB_CACHE_DIR,
                limit=options["limit"],
                progress=self.progress(options),
            )
        except TmdbError as error:
            raise CommandError(str(error)) from None
        movie_sections_forget(movie_ids=run.stored)  # the pages show the new posters at once
        seconds = time.monotonic() - started
        self.stdout.write(
            f"TMDb details of {run.fetched + run.cached:,} movies ({run.fetched:,} fetched, {run.cached:,} from the "
            f"cache, {run.missing:,} unknown to TMDb, {run.failed:,} failed: run again) in {seconds:.0f} s"
        )
