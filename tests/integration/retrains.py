"""A retrain slow enough to interrupt, for the integration tests that kill its worker."""

from recommender import dispatch
from recommender.models import ModelVersion
from tests.integration.conftest import wait_for
from tests.worlds import FAST


def slow_retrain_under_way(worker) -> ModelVersion:
    """Queue a retrain of 400 epochs and wait until `worker` has trained three of them.

    Training reads the version's settings when it starts: once this run is under way they are set
    back to FAST's, so that the run that follows the kill ends in seconds rather than 400 epochs.
    """
    version, _ = dispatch.retrain_request(overrides={**FAST, "epochs": 400, "patience": 400})
    wait_for(
        lambda: ModelVersion.objects.filter(pk=version.pk, epoch__gte=3).exists(),
        timeout=120,
        what="training to be under way",
        worker=worker,
    )
    ModelVersion.objects.filter(pk=version.pk).update(params=FAST)
    return version
