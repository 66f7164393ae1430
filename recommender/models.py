"""One training run of the recommender and what it produced."""

from django.db import models

from recommender.progress import training_progress

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
    # The passes this run may take and each one's most epochs (engine.presets.training_plan), set
    # when training starts: what progress measures against before the run's params are known.
    plan = models.JSONField(default=dict, blank=True)
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
    def progress(self) -> dict:
        """What a person reads about this run's epochs: its pass, that pass's count and most."""
        return training_progress(
            state=self.state, history=self.history, plan=self.plan, params=self.params, step=self.step
        )


class CredentialGeneration(models.Model):
    """One row, bumped whenever a login or an API token stops being valid (recommender/credentials.py).

    Lookups remembered in the cache carry the generation they were read under; an older one is
    ignored, so a revoke holds even when the cache write that would have forgotten it was lost.
    """

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"credential generation {self.value}"


class Impression(models.Model):
    """One pick shown to one person: what, where on the page, from which version, when.

    Written in batches from a Redis queue (recommender.services.impressions), read by the online
    metrics and by impression discounting, and deleted in batches once older than the retention.
    Plain integer columns, not foreign keys: a log row must not block deleting a movie or a version,
    and no constraint check slows the batch insert.
    """

    class Source(models.TextChoices):
        HOME = "home", "home page picks"
        API = "api", "picks API"
        SIMILAR = "similar", "similar movies"

    user_id = models.BigIntegerField(null=True)  # None: an anonymous visitor (similar movies)
    movie_id = models.BigIntegerField()
    version_id = models.BigIntegerField()  # the version whose list it came from; 0 without a model
    experiment_id = models.BigIntegerField(default=0)  # 0 outside an experiment
    arm = models.CharField(max_length=10, blank=True)  # "control", "challenger" or "" outside an experiment
    source = models.CharField(max_length=10, choices=Source.choices)
    position = models.PositiveSmallIntegerField()  # 0 is the first card shown
    shown_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["shown_at"], name="impression_shown_at"),
            models.Index(fields=["user_id", "shown_at"], name="impression_user_time"),
        ]

    def __str__(self) -> str:
        return f"movie {self.movie_id} to user {self.user_id} ({self.source}, v{self.version_id})"


class Experiment(models.Model):
    """An A/B test: a share of users served a challenger version's lists, the rest the active one's.

    Assignment is a stable hash of (experiment id, user id) (recommender.services.experiments), so a
    person stays in one arm for the whole experiment. Only picks follow the arms: similar movies, the
    map and the clusters keep the active version.
    """

    class State(models.TextChoices):
        RUNNING = "running"
        ENDED = "ended"

    name = models.CharField(max_length=100, blank=True)
    control = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="experiments_as_control")
    challenger = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="experiments_as_challenger")
    share = models.FloatField(help_text="The share of users served the challenger, between 0 and 1.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="experiments_won"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                models.Value(1), condition=models.Q(state="running"), name="experiment_one_running"
            ),
            models.CheckConstraint(condition=models.Q(share__gt=0, share__lt=1), name="experiment_share_between_0_1"),
        ]

    def __str__(self) -> str:
        return self.name or f"experiment {self.pk}: v{self.challenger_id} against v{self.control_id}"


class OnlineDay(models.Model):
    """What happened to the picks one version (or one experiment arm) showed on one day.

    The unit is a (person, movie) pair shown that day; its outcome is what that person did with
    the movie within RECOMMENDER_ONLINE_WINDOW_DAYS of its first showing that day. Sums rather than
    means, so days add up and confidence intervals come from the same row.
    """

    version_id = models.BigIntegerField()
    experiment_id = models.BigIntegerField(default=0)
    arm = models.CharField(max_length=10, blank=True)
    day = models.DateField()
    shown = models.PositiveIntegerField(default=0)  # (person, movie) pairs
    users = models.PositiveIntegerField(default=0)
    movies = models.PositiveIntegerField(default=0)  # distinct movies shown
    hits = models.PositiveIntegerField(default=0)  # rated or watchlisted
    rated = models.PositiveIntegerField(default=0)
    stars_sum = models.FloatField(default=0.0)
    stars_sq_sum = models.FloatField(default=0.0)
    watchlisted = models.PositiveIntegerField(default=0)
    dismissed = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["version_id", "experiment_id", "arm", "day"],
                name="onlineday_one_row",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} {self.arm or ''} {self.day}"

    @property
    def ignored(self) -> int:
        return self.shown - self.hits - self.dismissed
