"""manage.py retrain: queue a retrain, or train here (--wait, or --run for a queued version)."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import dispatch, services
from recommender.models import ModelVersion


class Command(BaseCommand):
    help = "Queue a retrain on the training queue (or, with --wait, train here and wait for it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--preset", help="Model preset (default: RECOMMENDER_PRESET).")
        parser.add_argument("--wait", action="store_true", help="Train in this process and print its progress.")
        parser.add_argument(
            "--run", type=int, metavar="VERSION", help="Train an already queued version here (used without a broker)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["run"]:
            self._run_queued(options["run"])
            return
        if options["wait"]:
            call_command("train", preset=options["preset"], stdout=self.stdout, stderr=self.stderr)
            return
        version, created = dispatch.retrain_request(preset=options["preset"])
        if created:
            self.stdout.write(f"queued v{version.pk} ({version.preset}); follow it in admin")
        else:
            self.stdout.write(f"already training: v{version.pk} is {version.get_state_display()}")

    def _run_queued(self, version_id: int) -> None:
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None or not version.is_running:
            raise CommandError(f"v{version_id} is not queued")
        try:
            dispatch.version_train_and_publish(version=version, in_process=True)
        except services.Cancelled:
            self.stdout.write(f"v{version_id} cancelled")
            return
        self.stdout.write(f"v{version_id} trained and active")
