"""One training run of the recommender and what it produced."""

from django.db import models

RUNNING_STATES = ("queued", "training", "computing_lists")


class ModelVersion(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        COMPUTING_LISTS = "computing_lists", "computing lists"
        READY = "ready"
        ACTIVE = "active"
        FAILED = "failed"
        CANCELLED = "cancelled"

    preset = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED, db_index=True)
    is_active = models.BooleanField(default=False)
    # Progress while training: one dict per finished epoch (loss, val_rmse, val_ndcg, seconds).
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True)
    # What a training run does after its epochs (the map, the protocols): minutes with no epoch to show.
    step = models.CharField(max_length=200, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    n_ratings = models.PositiveBigIntegerField(default=0)
    n_users = models.PositiveIntegerField(default=0)
    n_movies = models.PositiveIntegerField(default=0)
    artifact_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("retrain_modelversion", "Can retrain, cancel, activate and roll back model versions")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="modelversion_one_active"
            ),
            # At most one version queued or running: ten "retrain now" clicks make one run.
            models.UniqueConstraint(
                models.Value(1), condition=models.Q(state__in=RUNNING_STATES), name="modelversion_one_running"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.preset}, {self.state})"

    @property
    def is_running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def max_epochs(self) -> int:
        """The most epochs this run may take (early stopping can end it sooner)."""
        return int((self.params or {}).get("epochs") or self.epochs or 0)


class CredentialGeneration(models.Model):
    """One row, bumped whenever a login or an API token stops being valid (recommender/credentials.py).

    Lookups remembered in the cache carry the generation they were read under; an older one is
    ignored, so a revoke holds even when the cache write that would have forgotten it was lost.
    """

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"credential generation {self.value}"
