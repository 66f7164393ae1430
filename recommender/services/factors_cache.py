"""Factors held in memory by each process, loaded once per version.

Serving asks which version is active at most once a second, so a switch
reaches every web process within a second without a query per request.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from recommender.engine.factors import ArtifactError, Factors, load_factors
from recommender.models import ModelVersion

log = logging.getLogger(__name__)

_KEEP = 2  # the active version and the one being switched to
_loaded: dict[int, Factors] = {}
_lock = threading.Lock()
_active: tuple[float, tuple[int, str] | None] = (0.0, None)
ACTIVE_CHECK_SECONDS = 1.0


def factors_for(version: ModelVersion) -> Factors:
    """The version's factors (ArtifactError if its file is missing or corrupt)."""
    with _lock:
        factors = _loaded.get(version.pk)
        if factors is None:
            factors = load_factors(Path(version.artifact_path))
            while len(_loaded) >= _KEEP:
                _loaded.pop(next(iter(_loaded)))
            _loaded[version.pk] = factors
        return factors


def active_version_id() -> int:
    """The active version's id, 0 without a model (read at most once a second per process)."""
    loaded = active_factors()
    return loaded[0] if loaded is not None else 0


def active_factors() -> tuple[int, Factors] | None:
    """(version id, factors) of the active version, or None when nothing is trained yet."""
    global _active
    checked_at, active = _active
    if time.monotonic() - checked_at >= ACTIVE_CHECK_SECONDS:
        row = ModelVersion.objects.filter(is_active=True).values_list("pk", "artifact_path").first()
        active = (row[0], row[1]) if row else None
        _active = (time.monotonic(), active)
    if active is None:
        return None
    pk, path = active
    with _lock:
        factors = _loaded.get(pk)
    if factors is None:
        try:
            factors = factors_for(ModelVersion(pk=pk, artifact_path=path))
        except ArtifactError:
            # Pages must still answer: they fall back to popular movies until an admin
            # activates a good version. Checked again after ACTIVE_CHECK_SECONDS, not per request.
            log.exception("the active version v%s cannot be loaded; serving without a model", pk)
            _active = (time.monotonic(), None)
            return None
    return pk, factors


def forget() -> None:
    """Drop what this process holds (tests, and right after an activation in this process)."""
    global _active
    with _lock:
        _loaded.clear()
    _active = (0.0, None)
