"""A popularity-only challenger made from an installed version's factors, without training (tests.trained)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.db.models import Count
from django.utils import timezone

from movies.models import Rating
from recommender.engine.factors import load_factors, save_factors
from recommender.engine.popularity import popularity_factors
from recommender.models import ModelVersion
from recommender.services.versions import artifact_dir, version_update


def popularity_version(trained: ModelVersion) -> ModelVersion:
    """A ready version whose picks are the most rated movies, on `trained`'s ids and star head."""
    factors = load_factors(Path(trained.artifact_path))
    counts = dict(Rating.objects.values("movie_id").annotate(n=Count("id")).values_list("movie_id", "n"))
    popular = popularity_factors(factors, np.array([counts.get(int(m), 0) for m in factors.movie_ids]))
    version = ModelVersion.objects.create(
        preset="popularity", state=ModelVersion.State.READY, finished_at=timezone.now(), started_at=timezone.now()
    )
    path = save_factors(popular, artifact_dir(version))
    version_update(version, artifact_path=str(path), metrics={"preset": "popularity"})
    return version
