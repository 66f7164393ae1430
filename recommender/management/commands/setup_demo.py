"""manage.py setup_demo: a fresh machine's first start, data into the catalogue and then a first model.

Nothing is redone.
"""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from movies.importers import MovieLensError
from movies.importing import movielens_download
from movies.models import Movie
from movies.synthetic import write_movielens_sample
from recommender.models import ModelVersion


class Command(BaseCommand):
    help = "Prepare a fresh site: import MovieLens data (MOVIELENS=, a download, or a generated sample), train."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", default=os.environ.get("MOVIELENS", ""), help="A MovieLens zip or folder.")
        parser.add_argument("--no-train", action="store_true", help="Import only; train later with `train`.")

    def handle(self, *args: Any, **options: Any) -> None:
        if Movie.objects.exists():
            self.stdout.write(f"The catalogue already has {Movie.objects.count():,} movies: no import.")
        else:
            call_command("import_movielens", self._data_path(options["data"]), stdout=self.stdout, stderr=self.stderr)
        if options["no_train"]:
            return
        if ModelVersion.objects.filter(is_active=True).exists():
            self.stdout.write("A trained model is already active: no training.")
            return
        # The protocol figures cost two more trainings (about half the wait); the first version
        # does without them so the site opens sooner, and every retrain measures them.
        self.stdout.write("Training a first model so the site has picks at once (protocol figures skipped) ...")
        call_command("train", no_protocols=True, stdout=self.stdout, stderr=self.stderr)

    def _data_path(self, data: str) -> str:
        """MOVIELENS= if given, else ml-latest-small from GroupLens, else a generated sample."""
        if data:
            self.stdout.write(f"Importing MovieLens data from {data} (MOVIELENS=).")
            return data
        try:
            path = movielens_download(name="ml-latest-small")
        except MovieLensError as exc:
            sample = Path(settings.VAR_DIR) / "sample-movielens"
            self.stdout.write(
                self.style.WARNING(
                    f"GroupLens is not reachable ({exc}).\n"
                    f"Using a GENERATED MovieLens-format sample instead ({sample}): made-up titles and ratings.\n"
                    "For real data: make run MOVIELENS=/path/to/ml-latest-small.zip (or its folder)."
                )
            )
            if not (sample / "ratings.csv").exists():
                write_movielens_sample(sample)
            return str(sample)
        self.stdout.write(f"Downloaded the real ml-latest-small from GroupLens: {path}")
        return str(path)
