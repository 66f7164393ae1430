"""manage.py import_movielens PATH | --download NAME: thin; the work is in movies.importing."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from movies.importers import MovieLensError
from movies.importing import DATASETS, movielens_download, movielens_import
from movies.management.progress import ProgressCommand


class Command(ProgressCommand):
    help = "Import a MovieLens data set (zip or folder, any GroupLens layout) into the catalogue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="A MovieLens zip or folder (csv, '::' dat or ml-100k layout).")
        parser.add_argument(
            "--download",
            metavar="NAME",
            choices=DATASETS,
            help="Download NAME.zip from GroupLens (or MOVIELENS_BASE_URL), check it and import it.",
        )
        parser.add_argument("--dest", help="Folder for downloaded zips (default: VAR_DIR/movielens).")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="List and count bad rows and import the rest, instead of stopping at the first.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Read and validate everything; write nothing.")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        path, name = options["path"], options["download"]
        if bool(path) == bool(name):
            raise CommandError("give either PATH or --download NAME")
        progress = self.progress(options)
        try:
            if name:
                path = movielens_download(name=name, dest_dir=options["dest"], progress=progress)
                self.stderr.write(f"downloaded and checked {path}")
            result = movielens_import(
                path=path,
                skip_bad_rows=options["skip_bad_rows"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        except MovieLensError as exc:
            raise CommandError(f"{exc}; nothing was imported") from exc
        if result.bad_count:
            self.stderr.write(f"{result.bad_count:,} bad rows skipped:")
            for bad in result.bad_rows:
                self.stderr.write(f"  {bad}")
            if result.bad_count > len(result.bad_rows):
                self.stderr.write(f"  ... and {result.bad_count - len(result.bad_rows):,} more")
        if options["verbosity"] > 1:
            for phase, seconds in result.timings.items():
                self.stderr.write(f"  {phase}: {seconds:.1f} s")
        self.stdout.write(result.summary())
