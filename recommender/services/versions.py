"""Model versions: create, train, activate, prune, fail cleanly.

TensorFlow, pandas and pyarrow are imported inside `train_version` only: web processes import this
module (admin, views) and never load them.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from recommender.engine.factors import ArtifactError, load_factors, save_factors
from recommender.models import RUNNING_STATES, Experiment, ModelVersion
from recommender.services.explore import explore_build_quietly

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

State = ModelVersion.State
AUTO_PRESET = "auto"
PROTOCOLS_PENDING = "pending: measured once the version is live"
PROTOCOLS_MEASURING = "measuring protocols R and T (the preset trained twice more on their splits) ..."


class NoTrainingData(Exception):
    pass


class Cancelled(Exception):
    pass


def version_update(version: ModelVersion, **fields: object) -> None:
    """Set and save only these fields (progress updates must not overwrite a cancel)."""
    for name, value in fields.items():
        setattr(version, name, value)
    version.save(update_fields=list(fields))


def json_safe(value: object) -> object:
    """NaN and infinity become None: PostgreSQL's jsonb refuses them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())  # type: ignore[union-attr]
    return value


def running_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(state__in=RUNNING_STATES).first()


class AlreadyRunning(Exception):
    def __init__(self, version: ModelVersion) -> None:
        super().__init__(f"already training: v{version.pk} is {version.get_state_display()}")
        self.version = version


def version_create(*, preset: str | None = None, overrides: dict | None = None) -> ModelVersion:
    """A new queued version; AlreadyRunning if one is queued or running.

    The database allows one running version, so simultaneous requests make one.
    """
    for _ in range(3):
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    preset=preset or settings.RECOMMENDER_PRESET, params=overrides or {}, state=State.QUEUED
                )
        except IntegrityError:
            running = running_version()
            if running is not None:
                raise AlreadyRunning(running) from None
            # it finished between our insert and this read: try again
    raise RuntimeError("could not queue a version")


def artifact_dir(version: ModelVersion) -> Path:
    return Path(settings.MODEL_ARTIFACT_DIR) / f"v{version.pk}"


def train_version(
    *,
    version: ModelVersion,
    seed: int = 42,
    on_epoch: Callable[[dict], None] | None = None,
    evaluate_protocols: bool = True,
    on_phase: Callable[[str], None] | None = None,
) -> ModelVersion:
    """Train `version` on every rating in the database and save its factors.

    1. Mark it training, clearing what an earlier, interrupted attempt left.
    2. Read a columnar snapshot of all ratings; keep it as Parquet in the version's folder.
    3. Train the engine's model in this process (TensorFlow), checking for a
       cancel after every epoch.
    4. Write the factors atomically under MODEL_ARTIFACT_DIR/v<id>/.
    5. Build the movie map and clusters (explore).
    6. Store metrics, params and history. The caller computes the lists and activates, then
       measures protocols R and T (version_protocols) unless `evaluate_protocols` is off.
    A failure marks the version failed with the reason and removes its files.
    Each long step after the epochs (the map) is named in version.step, which admin's progress
    shows, and told to on_phase, so a terminal shows what it waits for too.
    """

    def say(line: str) -> None:
        version_update(version, step=line)
        if on_phase:
            on_phase(line)

    # TensorFlow, pandas and pyarrow: training processes only, never a web process.
    from recommender.engine.presets import PRESETS, preset_for, resolve_config, training_plan
    from recommender.engine.training import TrainingCancelled, train
    from recommender.snapshot import ratings_snapshot, snapshot_write

    directory = artifact_dir(version)
    shutil.rmtree(directory, ignore_errors=True)
    version_update(
        version,
        state=State.TRAINING,
        started_at=timezone.now(),
        error="",
        epoch=0,
        history=[],
        plan={},
        finished_at=None,
        step="",
    )
    overrides = dict(version.params or {})
    try:
        ratings = ratings_snapshot()
        if ratings.empty:
            raise NoTrainingData("there are no ratings to train on: import MovieLens data first")
        # "auto" takes the default preset scaled to this many ratings; the version's own overrides win.
        preset = version.preset
        if preset == AUTO_PRESET:
            preset, scaled = preset_for(len(ratings))
            overrides = {**scaled, **overrides}
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known: {AUTO_PRESET}, {', '.join(PRESETS)}")
        if PRESETS[preset].kind == "joint":
            overrides.setdefault("embedding_dim", settings.RECOMMENDER_EMBEDDING_DIM)
        version_update(
            version,
            preset=preset,
            n_ratings=len(ratings),
            n_users=int(ratings["userId"].nunique()),
            n_movies=int(ratings["movieId"].nunique()),
            plan=training_plan(resolve_config(preset, overrides)),
        )

        def epoch_done(report: dict) -> None:
            history = [*version.history, json_safe(report)]
            version_update(version, epoch=int(report.get("epoch", len(history))), history=history)
            if on_epoch:
                on_epoch(report)

        def should_stop() -> bool:
            return ModelVersion.objects.filter(pk=version.pk, state=State.CANCELLED).exists()

        directory.mkdir(parents=True, exist_ok=True)
        snapshot_bytes = snapshot_write(ratings, directory / "ratings.parquet")
        try:
            result = train(
                ratings, preset, overrides=overrides, seed=seed, on_epoch=epoch_done, should_stop=should_stop
            )
        except TrainingCancelled as exc:
            raise Cancelled(str(exc)) from exc
        if should_stop():
            raise Cancelled(f"v{version.pk} was cancelled")
        # Ratings newer than the snapshot are folded in at serving time (picks.py).
        result.factors.metadata.update(
            {"version": version.pk, "preset": version.preset, "snapshot_at": version.started_at.isoformat()}
        )
        path = save_factors(result.factors, directory)
        say("building the movie map (t-SNE) and clusters ...")
        explore_build_quietly(factors=result.factors, directory=directory, version_id=version.pk)
    except Cancelled:
        shutil.rmtree(directory, ignore_errors=True)
        version_update(version, state=State.CANCELLED, finished_at=timezone.now())
        raise
    except BaseException as exc:
        if not connection.in_atomic_block:
            # A signal (a time limit) may have cut a query short and left the connection unusable.
            connection.close()
        version_fail(version=version, error=f"{type(exc).__name__}: {exc}")
        raise
    metrics = {
        **result.metrics,
        "snapshot_bytes": snapshot_bytes,
        # version_protocols measures them once the version is live: the site need not wait for them.
        "protocols": PROTOCOLS_PENDING if evaluate_protocols else "skipped: not asked for (train --no-protocols)",
    }
    version_update(
        version,
        params=json_safe(result.params),
        metrics=json_safe(metrics),
        epochs=len(result.history),
        artifact_path=str(path),
        step="",
    )
    return version


def version_protocols(*, version: ModelVersion, seed: int = 42, on_phase: Callable[[str], None] | None = None) -> None:
    """Measure protocols R and T for a trained version and merge the figures into its metrics.

    1. Skip unless its metrics say the figures are pending (train --no-protocols says so).
    2. Read the ratings it was trained on (its Parquet snapshot) and its effective config.
    3. Train the preset on each protocol's split (protocol_metrics), saying so in its metrics,
       which admin shows; then merge the figures into the metrics as they are now.
    A failure is recorded in the metrics and logged: the version itself stays as it is.
    """
    from recommender.snapshot import snapshot_read  # pyarrow: training processes only

    version.refresh_from_db()
    if version.metrics.get("protocols") != PROTOCOLS_PENDING:
        return
    if on_phase:
        on_phase(PROTOCOLS_MEASURING)
    _metrics_merge(version, {"protocols": PROTOCOLS_MEASURING})
    try:
        ratings = snapshot_read(artifact_dir(version) / "ratings.parquet")
        # params hold the effective config beside the run's own settings: the config's fields are overrides.
        overrides = {k: v for k, v in version.params.items() if k not in ("preset", "seed", "validation", "kind")}
        figures = protocol_metrics(ratings, version.preset, overrides=overrides, seed=seed)
        figures.setdefault("protocols", "measured after the version went live")
    except Exception as exc:
        log.exception("protocols R and T for v%s failed", version.pk)
        figures = {"protocols": f"failed: {type(exc).__name__}: {exc}"}
    _metrics_merge(version, json_safe(figures))  # type: ignore[arg-type]


def _metrics_merge(version: ModelVersion, figures: dict) -> None:
    """Add figures to the version's metrics as they are in the database now (nothing else is rewritten)."""
    with transaction.atomic():
        row = ModelVersion.objects.select_for_update().get(pk=version.pk)
        version_update(row, metrics={**row.metrics, **figures})
    version.metrics = row.metrics


def protocol_metrics(
    ratings: pd.DataFrame,
    preset: str,
    *,
    overrides: dict,
    seed: int,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """The version's preset under both fixed protocols, beside "most popular" from the same run.

    Protocol R (stars, random 80/20 split stratified by rating) and protocol T
    (top-10, per-user 25% held out) each train the preset once more on their own
    split, so above RECOMMENDER_PROTOCOL_MAX_RATINGS this is skipped and said so.
    """
    from recommender.engine.evaluation import evaluate  # TensorFlow: training processes only

    limit = settings.RECOMMENDER_PROTOCOL_MAX_RATINGS
    if len(ratings) > limit:
        return {"protocols": f"skipped: {len(ratings):,} ratings is over RECOMMENDER_PROTOCOL_MAX_RATINGS={limit:,}"}
    if should_stop is not None and should_stop():
        return {}
    rows = {
        row["name"]: row for row in evaluate(ratings, [preset], seed=seed, overrides={preset: overrides}, ease=False)
    }
    model, popular = rows[preset], rows["most popular"]
    return {
        "R_rmse": model["rmse"],
        "R_mae": model["mae"],
        "T_precision": model["precision"],
        "T_recall": model["recall"],
        "T_ndcg": model["ndcg"],
        "T_map": model["map"],
        "T_coverage": model["coverage"],
        "T_ndcg_most_popular": popular["ndcg"],
    }


def version_fail(*, version: ModelVersion, error: str, replace_reason: bool = False) -> None:
    """Record why a running version failed and remove its files; others are left alone.

    `replace_reason` also rewrites the reason of a version already marked failed: the
    worker's main process knows a hard time limit killed the run, which the dying
    training process itself could only see as a signal.
    """
    states = [*RUNNING_STATES, State.FAILED] if replace_reason else list(RUNNING_STATES)
    failed = ModelVersion.objects.filter(pk=version.pk, state__in=states).update(
        state=State.FAILED, error=error[:5000], finished_at=timezone.now(), is_active=False
    )
    if failed:
        shutil.rmtree(artifact_dir(version), ignore_errors=True)
    version.refresh_from_db()


def version_cancel(*, version: ModelVersion) -> bool:
    """Ask a queued or running version to stop; training stops after the current epoch."""
    return bool(
        ModelVersion.objects.filter(pk=version.pk, state__in=RUNNING_STATES).update(
            state=State.CANCELLED, finished_at=timezone.now()
        )
    )


def version_ready(*, version: ModelVersion) -> ModelVersion:
    """A trained version that is kept but not served (activate it later in admin)."""
    version_update(version, state=State.READY, finished_at=timezone.now())
    return version


def version_artifact_check(*, version: ModelVersion) -> None:
    """Load the version's factors; a missing or corrupt file raises ArtifactError, its reason kept for admin."""
    try:
        load_factors(Path(version.artifact_path))
    except ArtifactError as exc:
        version_update(version, error=f"not activated: {exc}")
        raise


def version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one the site serves in the database; the previous one stays ready.

    The artefact is loaded first: a missing or corrupt file is refused, the reason
    is kept on the version for admin, and the active version does not change.
    """
    version_artifact_check(version=version)
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False, state=State.READY)
        now = timezone.now()
        version_update(
            version, is_active=True, state=State.ACTIVE, activated_at=now, finished_at=version.finished_at or now
        )
    return version


def versions_prune(*, keep: int | None = None) -> list[int]:
    """Delete the files of all but the newest `keep` finished versions (never the active one or a challenger)."""
    keep = settings.RECOMMENDER_KEEP_VERSIONS if keep is None else keep
    finished = ModelVersion.objects.exclude(state__in=RUNNING_STATES).exclude(artifact_path="").order_by("-pk")
    in_experiment = set(
        Experiment.objects.filter(state=Experiment.State.RUNNING).values_list("challenger_id", flat=True)
    )
    pruned = []
    for version in finished[keep:]:
        if version.is_active or version.pk in in_experiment:
            continue
        shutil.rmtree(artifact_dir(version), ignore_errors=True)
        version_update(version, artifact_path="")
        pruned.append(version.pk)
    return pruned
