"""Reads of the recommender's own tables."""

from recommender.models import ModelVersion


def version_active() -> ModelVersion | None:
    """The version whose picks the site serves, or None before the first activation."""
    return ModelVersion.objects.filter(is_active=True).first()
