"""manage.py explore_refresh: recompute a version's movie map, clusters and bias tables."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.models import ModelVersion
from recommender.services.explore import explore_refresh


class Command(BaseCommand):
    help = "Recompute a version's explore data (movie map, clusters, biases)."

    def add_arguments(self, parser: CommandParser) -> None:
        # Django keeps --version for itself, so this is --model-version, as in refresh_lists.
        parser.add_argument("--model-version", type=int, default=None, help="Version id (default: the active version).")

    def handle(self, *args: object, **options: object) -> None:
        qs = ModelVersion.objects.exclude(artifact_path="")
        version_id = options["model_version"]
        version = qs.filter(pk=version_id).first() if version_id else qs.filter(is_active=True).first()
        if version is None:
            raise CommandError(f"no trained version {version_id}" if version_id else "no active version")
        path = explore_refresh(version=version)
        self.stdout.write(f"explore data of v{version.pk} written to {path}")
