"""A training worker killed whole (main process and child) mid-retrain, then started again."""

import os
import signal

import pytest

from recommender.models import ModelVersion
from tests.integration.conftest import version_states, wait_for
from tests.integration.retrains import slow_retrain_under_way
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.integration

ACTIVE = ModelVersion.State.ACTIVE


def test_a_retrain_whose_whole_worker_was_killed_completes_when_a_trainer_starts_again(stack, start_worker):
    two_tastes_world()
    worker = start_worker()
    version = slow_retrain_under_way(worker)
    # Its message stays unacknowledged in Redis: the broker alone would give it back only
    # after the visibility timeout, hours later.
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    assert ModelVersion.objects.get(pk=version.pk).state == ModelVersion.State.TRAINING
    worker = start_worker()
    wait_for(
        lambda: ModelVersion.objects.filter(pk=version.pk, state=ACTIVE, is_active=True).exists(),
        timeout=300,
        what="the restarted trainer to finish the retrain",
        worker=worker,
    )
    assert "left training by a worker that died" in worker.output()
    assert version_states() == [(version.pk, ACTIVE, True)]
