"""The recommender's verbs, as views, admin, commands and tasks use them."""

from recommender.services import factors_cache
from recommender.services.experiments import ExperimentError, experiment_create, experiment_end
from recommender.services.factors_cache import active_factors
from recommender.services.impressions import impressions_flush, impressions_prune, impressions_record
from recommender.services.lists import ListsIncomplete, list_chunks, lists_compute, lists_failed, lists_publish
from recommender.services.online_metrics import online_metrics_refresh
from recommender.services.picks import (
    Pick,
    popular_picks,
    recommend_for,
    similar_to,
    user_picks_refresh,
    user_picks_refresh_logged,
)
from recommender.services.versions import (
    AlreadyRunning,
    Cancelled,
    NoTrainingData,
    running_version,
    train_version,
    version_activate,
    version_artifact_check,
    version_cancel,
    version_create,
    version_fail,
    version_protocols,
    version_ready,
    versions_prune,
)

__all__ = [
    "AlreadyRunning",
    "Cancelled",
    "ExperimentError",
    "ListsIncomplete",
    "NoTrainingData",
    "Pick",
    "active_factors",
    "experiment_create",
    "experiment_end",
    "factors_cache",
    "impressions_flush",
    "impressions_prune",
    "impressions_record",
    "list_chunks",
    "lists_compute",
    "lists_failed",
    "lists_publish",
    "online_metrics_refresh",
    "popular_picks",
    "recommend_for",
    "running_version",
    "similar_to",
    "train_version",
    "user_picks_refresh",
    "user_picks_refresh_logged",
    "version_activate",
    "version_artifact_check",
    "version_cancel",
    "version_create",
    "version_fail",
    "version_protocols",
    "version_ready",
    "versions_prune",
]
