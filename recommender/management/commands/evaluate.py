"""manage.py evaluate: presets beside baselines under protocols R and T, on the database or a file."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from movies.importers import MovieLensError
from movies.importers.frames import read_ratings_frame
from recommender.engine.evaluation import evaluate, format_table
from recommender.engine.training import PRESETS
from recommender.snapshot import ratings_snapshot


class Command(BaseCommand):
    help = "Evaluate the model presets beside baselines under protocols R (stars) and T (top-10)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data", help="A MovieLens zip or folder (any layout); default: the ratings in the database."
        )
        parser.add_argument(
            "--presets", default="tutorial,default", help=f"Comma-separated presets ({', '.join(PRESETS)})."
        )
        parser.add_argument("--seed", type=int, default=42, help="Seed of both splits and of training.")
        parser.add_argument("--epochs", type=int, help="Most epochs for every preset (default: each preset's own).")
        parser.add_argument("--protocols", default="R,T", help="Which protocols to run: R, T or R,T.")

    def handle(self, *args: Any, **options: Any) -> None:
        presets = [p.strip() for p in options["presets"].split(",") if p.strip()]
        unknown = sorted(set(presets) - set(PRESETS))
        if unknown:
            raise CommandError(f"unknown preset(s) {unknown}; known: {sorted(PRESETS)}")
        started = time.monotonic()
        if options["data"]:
            try:
                ratings = read_ratings_frame(options["data"])
            except MovieLensError as exc:
                raise CommandError(str(exc)) from exc
            source = options["data"]
        else:
            ratings = ratings_snapshot()
            source = "the database"
        if ratings.empty:
            raise CommandError(f"no ratings in {source}")
        self.stdout.write(
            f"{len(ratings):,} ratings, {ratings['userId'].nunique():,} users, "
            f"{ratings['movieId'].nunique():,} movies from {source}"
        )
        overrides = {p: {"epochs": options["epochs"]} for p in presets} if options["epochs"] else None
        rows = evaluate(
            ratings,
            presets,
            seed=options["seed"],
            overrides=overrides,
            protocols=[p.strip().upper() for p in options["protocols"].split(",")],
            on_progress=lambda message: self.stderr.write(f"  {message}"),
        )
        self.stdout.write(format_table(rows))
        self.stdout.write(
            f"evaluated {len(rows)} models on {len(ratings):,} ratings in {time.monotonic() - started:.0f} s"
        )
