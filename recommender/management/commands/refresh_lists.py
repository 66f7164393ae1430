"""manage.py refresh_lists: recompute and publish every user's list for a version."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import dispatch, services
from recommender.models import ModelVersion


class Command(BaseCommand):
    help = "Recompute every user's top-N list for the active version (or --version N) and publish it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model-version", type=int, help="The model version (default: the active one).")
        parser.add_argument("--here", action="store_true", help="Compute in this process instead of on the workers.")

    def handle(self, *args: Any, **options: Any) -> None:
        versions = ModelVersion.objects.all()
        version = (
            versions.filter(pk=options["model_version"]).first()
            if options["model_version"]
            else versions.filter(is_active=True).first()
        )
        if version is None:
            raise CommandError("no such version" if options["model_version"] else "no active version: train one first")
        try:
            dispatch.version_rollout(version=version, in_process=options["here"])
        except services.AlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        version.refresh_from_db()
        self.stdout.write(f"v{version.pk}: {version.get_state_display()}")
