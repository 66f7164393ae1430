"""Factors held in memory by each process, loaded once per version.

Serving asks which version is active at most once a second, so a switch
reaches every web process within a second without a query per request.
At the same check the active file is looked at (one stat): a file replaced or
altered since it was loaded is loaded again. A version whose file cannot be
loaded is served as no model (popular picks) and reported by /healthz as
"unloadable"; the failure is logged once per version and reason, not at every
retry, and the version's "not activated" message goes once its file loads again.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from django.db.models import Subquery

from recommender.engine.factors import ArtifactError, Factors, load_factors
from recommender.models import Experiment, ModelVersion

log = logging.getLogger(__name__)

_KEEP = 3  # the active version, an experiment's challenger, and the one being switched to
_loaded: dict[int, Factors] = {}
_lock = threading.Lock()
_active: tuple[float, tuple[int, str] | None] = (0.0, None)
# The running A/B experiment, read in the same query as the active version: (id, challenger id, share, file).
_experiment: tuple[int, int, float, str] | None = None
ACTIVE_CHECK_SECONDS = 1.0
# (version id, reason, monotonic time) of the last failed load of the active version.
_failed: tuple[int, str, float] | None = None
# What each loaded file was when it was read: (version id) -> (path, size, mtime_ns, inode).
_signatures: dict[int, tuple[str, int, int, int]] = {}


def factors_for(version: ModelVersion) -> Factors:
    """The version's factors (ArtifactError if its file is missing or corrupt)."""
    with _lock:
        factors = _loaded.get(version.pk)
        if factors is None:
            signature = _signature(version.artifact_path)
            factors = load_factors(Path(version.artifact_path))
            while len(_loaded) >= _KEEP:
                oldest = next(iter(_loaded))
                _loaded.pop(oldest)
                _signatures.pop(oldest, None)
            _loaded[version.pk] = factors
            if signature is not None:
                _signatures[version.pk] = signature
        return factors


def _signature(path: str) -> tuple[str, int, int, int] | None:
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return (path, stat.st_size, stat.st_mtime_ns, stat.st_ino)


def active_version_id() -> int:
    """The active version's id, 0 without a model (read at most once a second per process)."""
    loaded = active_factors()
    return loaded[0] if loaded is not None else 0


def active_factors() -> tuple[int, Factors] | None:
    """(version id, factors) of the active version, or None when nothing is trained yet
    or its file cannot be loaded (see active_model_state)."""
    global _active, _failed
    now = time.monotonic()
    checked_at, active = _active
    if now - checked_at >= ACTIVE_CHECK_SECONDS:
        global _experiment
        row = _active_row()
        active = (row[0], row[1]) if row else None
        _experiment = (int(row[2]), int(row[3]), float(row[4]), str(row[5])) if row and row[2] else None
        _active = (now, active)
        if active is not None:
            _drop_if_changed(*active)
    if active is None:
        _failed = None
        return None
    pk, path = active
    with _lock:
        factors = _loaded.get(pk)
    if factors is None:
        failed = _failed
        if failed is not None and failed[0] == pk and now - failed[2] < ACTIVE_CHECK_SECONDS:
            return None  # tried within the last second: no file read per request
        try:
            factors = factors_for(ModelVersion(pk=pk, artifact_path=path))
        except ArtifactError as exc:
            # Pages must still answer: they fall back to popular movies until the file loads
            # or an admin activates a good version. Logged once per version and reason.
            if failed is None or failed[:2] != (pk, str(exc)):
                log.error("the active version v%s cannot be loaded, serving without a model: %s", pk, exc)
            _failed = (pk, str(exc), now)
            return None
        if failed is not None:
            log.warning("the active version v%s loads again; serving its picks", pk)
            _failed = None
            # The reason a re-activation was refused no longer holds.
            ModelVersion.objects.filter(pk=pk, error__startswith="not activated:").update(error="")
    return pk, factors


def _active_row() -> tuple | None:
    """(id, file) of the active version and (id, challenger id, share, challenger's file) of the running
    experiment, or Nones: one query, as every page asks for both."""
    running = Experiment.objects.filter(state=Experiment.State.RUNNING)
    return (
        ModelVersion.objects.filter(is_active=True)
        .annotate(
            experiment_id=Subquery(running.values("pk")[:1]),
            challenger_id=Subquery(running.values("challenger_id")[:1]),
            share=Subquery(running.values("share")[:1]),
            challenger_path=Subquery(running.values("challenger__artifact_path")[:1]),
        )
        .values_list("pk", "artifact_path", "experiment_id", "challenger_id", "share", "challenger_path")
        .first()
    )


def running_experiment() -> tuple[int, int, float, str] | None:
    """(experiment id, challenger id, share, challenger's file) of the running experiment, read with the
    active version at most once a second (recommender.services.experiments)."""
    active_factors()
    return _experiment


def recheck() -> None:
    """Read the active version and the running experiment again at the next call; keep loaded factors."""
    global _active
    _active = (0.0, _active[1])


def active_model_state() -> str:
    """ "ok" (the active version is loaded), "unloadable" (its file is missing or corrupt) or "none"."""
    if active_factors() is not None:
        return "ok"
    return "unloadable" if _failed is not None else "none"


def _drop_if_changed(pk: int, path: str) -> None:
    """Forget loaded factors whose file was replaced or altered since it was read."""
    with _lock:
        if pk in _loaded and _signatures.get(pk) != _signature(path):
            _loaded.pop(pk, None)
            _signatures.pop(pk, None)


def forget() -> None:
    """Drop what this process holds (tests, and right after an activation in this process)."""
    global _active, _failed, _experiment
    with _lock:
        _loaded.clear()
        _signatures.clear()
    _active = (0.0, None)
    _failed = None
    _experiment = None
