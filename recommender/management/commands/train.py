"""manage.py train: train a new version in this process, build its lists and make it live."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import dispatch, services


class Command(BaseCommand):
    help = "Train a new recommender version on every rating in the database, in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--preset", help="Model preset: auto (the default scaled to the data size), default, large or tutorial."
        )
        parser.add_argument("--epochs", type=int, help="Most epochs (early stopping may end sooner).")
        parser.add_argument("--dim", type=int, help="Embedding size.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed for the split and the initial weights.")
        parser.add_argument(
            "--no-activate", action="store_true", help="Keep the current version live; activate the new one in admin."
        )
        parser.add_argument(
            "--no-protocols",
            action="store_true",
            help="Skip measuring protocols R and T (two more trainings) for the version's metrics in admin.",
        )

    def handle(self, *args: object, **options: object) -> None:
        overrides = {}
        if options["epochs"]:
            overrides["epochs"] = options["epochs"]
        if options["dim"]:
            overrides["embedding_dim"] = options["dim"]
        started = time.monotonic()
        try:
            version = services.version_create(preset=options["preset"], overrides=overrides)  # type: ignore[arg-type]
            self.stdout.write(f"training v{version.pk} ({version.preset}) ...")
            dispatch.version_train_and_publish(
                version=version,
                in_process=True,
                activate=not options["no_activate"],
                seed=options["seed"],  # type: ignore[arg-type]
                on_epoch=self._print_epoch,
                evaluate_protocols=not options["no_protocols"],
                on_phase=self._print_phase,
            )
        except (services.AlreadyRunning, services.NoTrainingData, services.Cancelled, ValueError) as exc:
            raise CommandError(str(exc)) from None
        version.refresh_from_db()
        self.stdout.write(
            f"trained v{version.pk} ({version.preset}) on {version.n_ratings:,} ratings "
            f"in {time.monotonic() - started:.0f} s: {version.get_state_display()}; "
            f"val RMSE {_fmt(version.metrics.get('val_rmse'))}, val nDCG@10 {_fmt(version.metrics.get('val_ndcg'))}"
        )

    def _print_phase(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _print_epoch(self, report: dict) -> None:
        parts = [f"epoch {report.get('epoch', '?'):>3}"]
        for key, label in (("loss", "loss"), ("val_rmse", "val RMSE"), ("val_ndcg", "val nDCG@10")):
            parts.append(f"{label} {_fmt(report.get(key))}")
        parts.append(f"{report.get('seconds') or 0:.1f} s")
        self.stdout.write("  ".join(parts))
        self.stdout.flush()


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"
