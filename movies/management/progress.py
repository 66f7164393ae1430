"""A management command base for long jobs that draw progress bars on stderr, with --no-progress to hide them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class ProgressCommand(BaseCommand):
    """Adds --no-progress; bars are also off at -v0."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="No progress bars on stderr.")

    def progress(self, options: dict[str, Any]) -> bool:
        """Whether to draw progress bars, from the command's options."""
        return not options["no_progress"] and options["verbosity"] > 0
