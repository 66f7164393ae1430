"""manage.py evaluate: presets beside baselines under protocols R and T, on the database or a file."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from movies.importers import MovieLensError
from movies.importers.frames import read_ratings_frame
from recommender.engine.evaluation import P_MIN_RATINGS, evaluate, evaluate_people, format_people, format_table
from recommender.engine.presets import PRESETS
from recommender.snapshot import ratings_with_times


class Command(BaseCommand):
    help = "Evaluate the model presets beside baselines under protocols R (stars), T (top-10) and P (new people)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data", help="A MovieLens zip or folder (any layout); default: the ratings in the database."
        )
        parser.add_argument(
            "--presets", default="tutorial,default", help=f"Comma-separated presets ({', '.join(PRESETS)})."
        )
        parser.add_argument("--seed", type=int, default=42, help="Seed of both splits and of training.")
        parser.add_argument("--epochs", type=int, help="Most epochs for every preset (default: each preset's own).")
        parser.add_argument("--protocols", default="R,T,P", help="Which protocols to run: any of R, T and P.")

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
            ratings = ratings_with_times()
            source = "the database"
        if ratings.empty:
            raise CommandError(f"no ratings in {source}")
        self.stdout.write(
            f"{len(ratings):,} ratings, {ratings['userId'].nunique():,} users, "
            f"{ratings['movieId'].nunique():,} movies from {source}"
        )
        overrides = {p: {"epochs": options["epochs"]} for p in presets} if options["epochs"] else None
        protocols = {p.strip().upper() for p in options["protocols"].split(",") if p.strip()}
        unknown = sorted(protocols - {"R", "T", "P"})
        if unknown:
            raise CommandError(f"unknown protocol(s) {unknown}; known: R, T, P")
        say = lambda message: self.stderr.write(f"  {message}")  # noqa: E731
        models = 0
        if protocols & {"R", "T"}:
            rows = evaluate(
                ratings,
                presets,
                seed=options["seed"],
                overrides=overrides,
                protocols=sorted(protocols),
                on_progress=say,
            )
            self.stdout.write(format_table(rows))
            models = len(rows)
        if "P" in protocols:
            people = evaluate_people(ratings, presets, seed=options["seed"], overrides=overrides, on_progress=say)
            if people:
                self.stdout.write("protocol P: people held out of training, known by their first k ratings")
                self.stdout.write(format_people(people))
            else:
                self.stdout.write(f"protocol P: no user has the {P_MIN_RATINGS} ratings it needs to hold people out")
            models = max(models, len({r["name"] for r in people}))
        self.stdout.write(
            f"evaluated {models} models on {len(ratings):,} ratings in {time.monotonic() - started:.0f} s"
        )
