"""A/B experiments between model versions: who is in which arm, which version serves them, promotion.

A person's arm is a stable hash of (experiment id, user id): the same person lands in the same arm
in every process and at every visit, and a new experiment shuffles people afresh. Only a person's
picks follow their arm; similar movies, the map and the clusters keep the active version.
The running experiment is read with the active version, in the same query, at most once a second
per process (recommender.services.factors_cache).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from recommender.engine.assignment import CHALLENGER, CONTROL, arm_of
from recommender.engine.factors import ArtifactError, Factors
from recommender.models import Experiment, ModelVersion
from recommender.services import factors_cache
from recommender.services.factors_cache import active_factors, factors_for, running_experiment
from recommender.services.versions import version_artifact_check
from recommender.store import get_store

__all__ = ["CHALLENGER", "CONTROL", "arm_of", "running_experiment"]


class ExperimentError(Exception):
    """An experiment that cannot start or end as asked; the message says why."""


def forget() -> None:
    """Read the running experiment again at the next call (tests, and after a change in this process)."""
    factors_cache.recheck()


def serving_arm(user_id: int | None) -> tuple[int, str]:
    """(experiment id, arm) of the person: (0, "") outside an experiment or when anonymous."""
    running = running_experiment()
    if running is None or user_id is None:
        return 0, ""
    experiment_id, _, share, _ = running
    return experiment_id, arm_of(experiment_id=experiment_id, share=share, user_id=user_id)


def serving_factors(user_id: int | None) -> tuple[int, Factors] | None:
    """(version id, factors) whose picks the person is served: the challenger's in its arm, else the active one's.

    A challenger whose file cannot be loaded serves its arm the active version (the experiment's
    figures then show the challenger arm with the active version's id).
    """
    active = active_factors()
    running = running_experiment()
    if running is None or user_id is None or active is None:
        return active
    experiment_id, challenger_id, share, path = running
    if challenger_id == active[0] or arm_of(experiment_id=experiment_id, share=share, user_id=user_id) != CHALLENGER:
        return active
    try:
        return challenger_id, factors_for(ModelVersion(pk=challenger_id, artifact_path=path))
    except Exception:  # a broken challenger must not break its arm's pages
        return active


def serving_version_id(user_id: int | None) -> int:
    """The version the person's picks come from (0 without a model); cached sections are stamped with it."""
    loaded = serving_factors(user_id)
    return loaded[0] if loaded is not None else 0


def experiment_check(*, challenger: ModelVersion, share: float) -> ModelVersion:
    """The control (the active version) of an experiment that may start; ExperimentError says why
    not: no version is active, the challenger is the active one or has no loadable file, the share
    is not between 0 and 1, or another experiment runs."""
    if Experiment.objects.filter(state=Experiment.State.RUNNING).exists():
        raise ExperimentError("another experiment is running: end it first")
    control = ModelVersion.objects.filter(is_active=True).first()
    if control is None:
        raise ExperimentError("no version is active: activate one before testing another against it")
    if challenger.pk == control.pk:
        raise ExperimentError(f"v{challenger.pk} is the active version: choose another as the challenger")
    if not 0 < share < 1:
        raise ExperimentError(f"the challenger's share must be between 0 and 1, not {share}")
    if challenger.is_running or not challenger.artifact_path:
        raise ExperimentError(f"v{challenger.pk} has no trained files to serve ({challenger.get_state_display()})")
    try:
        version_artifact_check(version=challenger)
    except ArtifactError as exc:
        raise ExperimentError(f"v{challenger.pk} cannot be served: {exc}") from None
    return control


def experiment_create(*, challenger: ModelVersion, share: float, name: str = "") -> Experiment:
    """Start an experiment: `share` of users get `challenger`'s picks, the rest the active version's.

    Raises ExperimentError as experiment_check does. The caller (recommender.dispatch) builds the
    challenger's lists.
    """
    control = experiment_check(challenger=challenger, share=share)
    try:
        with transaction.atomic():
            experiment = Experiment.objects.create(name=name, control=control, challenger=challenger, share=share)
    except IntegrityError:
        raise ExperimentError("another experiment is running: end it first") from None
    store = get_store()
    if store is not None:
        store.keep(challenger.pk)  # a retired version's lists would otherwise expire mid-experiment
    forget()
    return experiment


def experiment_end(*, experiment: Experiment, winner: ModelVersion | None = None) -> Experiment:
    """End a running experiment, naming the winner (default: control). Every user then gets the active
    version's picks. Activating a winning challenger is the caller's (recommender.dispatch) next step.
    """
    if experiment.state != Experiment.State.RUNNING:
        raise ExperimentError(f"{experiment} has already ended")
    winner = winner or experiment.control
    if winner.pk not in (experiment.control_id, experiment.challenger_id):
        raise ExperimentError(f"v{winner.pk} is in neither arm of {experiment}")
    Experiment.objects.filter(pk=experiment.pk).update(
        state=Experiment.State.ENDED, ended_at=timezone.now(), winner=winner
    )
    experiment.refresh_from_db()
    store = get_store()
    if store is not None and winner.pk != experiment.challenger_id:
        store.retire(experiment.challenger_id)
    forget()
    return experiment
