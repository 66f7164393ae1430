"""A/B experiments: stable assignment, each arm served its version, promotion, similar movies untouched."""

import subprocess
import sys

import pytest

from recommender import dispatch, services
from recommender.models import Experiment, ModelVersion
from recommender.services import experiments
from recommender.services.experiments import CHALLENGER, CONTROL, arm_of, serving_arm, serving_version_id
from tests.conftest import REPO
from tests.online import popularity_version
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = pytest.mark.django_db


def test_a_person_stays_in_one_arm_at_every_call():
    arms = [arm_of(experiment_id=3, share=0.3, user_id=u) for u in range(2_000)]
    assert arms == [arm_of(experiment_id=3, share=0.3, user_id=u) for u in range(2_000)]
    assert 0.27 < arms.count(CHALLENGER) / len(arms) < 0.33


def test_the_assignment_is_the_same_in_another_process():
    code = (
        "from recommender.engine.assignment import arm_of;"
        "print(''.join('1' if arm_of(experiment_id=3, share=0.3, user_id=u) == 'challenger' else '0'"
        " for u in range(300)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    here = "".join("1" if arm_of(experiment_id=3, share=0.3, user_id=u) == CHALLENGER else "0" for u in range(300))
    assert other == here


def test_a_new_experiment_shuffles_people_afresh():
    first = [arm_of(experiment_id=1, share=0.5, user_id=u) for u in range(500)]
    second = [arm_of(experiment_id=2, share=0.5, user_id=u) for u in range(500)]
    assert 0.35 < sum(a != b for a, b in zip(first, second, strict=True)) / 500 < 0.65


def test_a_larger_share_only_adds_people_to_the_challenger():
    small = {u for u in range(1_000) if arm_of(experiment_id=4, share=0.2, user_id=u) == CHALLENGER}
    large = {u for u in range(1_000) if arm_of(experiment_id=4, share=0.5, user_id=u) == CHALLENGER}
    assert small < large


@pytest.fixture
def two_versions(trained_run):
    users = two_tastes_world()
    active = install(trained_run)
    challenger = popularity_version(active)
    experiments.forget()
    yield users, active, challenger
    experiments.forget()


def _by_arm(users):
    arms = {CONTROL: [], CHALLENGER: []}
    for user in users:
        arms[serving_arm(user.pk)[1]].append(user)
    return arms


def test_each_arm_is_served_its_versions_picks_and_similar_movies_stay_active(two_versions):
    users, active, challenger = two_versions
    experiment = dispatch.experiment_start(challenger=challenger, share=0.5, in_process=True)
    arms = _by_arm(users)
    assert arms[CONTROL] and arms[CHALLENGER]
    assert {serving_version_id(u.pk) for u in arms[CONTROL]} == {active.pk}
    assert {serving_version_id(u.pk) for u in arms[CHALLENGER]} == {challenger.pk}
    assert serving_arm(arms[CHALLENGER][0].pk) == (experiment.pk, CHALLENGER)
    # The popularity-only challenger gives everybody of its arm the same most-rated movies (less their own).
    popular = services.recommend_for(arms[CHALLENGER][0], n=5)
    personal = services.recommend_for(arms[CONTROL][0], n=5)
    assert [p.movie.pk for p in popular] != [p.movie.pk for p in personal]
    # Similar movies are the active version's whatever the arm.
    from movies.models import Movie

    movie = Movie.objects.get(pk=1)
    assert services.similar_to(movie, n=5)
    assert experiments.serving_factors(None)[0] == active.pk


def test_promoting_the_challenger_ends_the_experiment_and_makes_it_active(two_versions):
    users, _, challenger = two_versions
    experiment = dispatch.experiment_start(challenger=challenger, share=0.5, in_process=True)
    dispatch.experiment_promote(experiment=experiment, winner=challenger, in_process=True)
    experiment.refresh_from_db()
    challenger.refresh_from_db()
    assert experiment.state == Experiment.State.ENDED and experiment.winner_id == challenger.pk
    assert challenger.is_active and ModelVersion.objects.filter(is_active=True).count() == 1
    experiments.forget()
    assert {serving_version_id(u.pk) for u in users} == {challenger.pk}


def test_keeping_the_control_ends_the_experiment_and_serves_everybody_the_active_version(two_versions):
    users, active, challenger = two_versions
    experiment = dispatch.experiment_start(challenger=challenger, share=0.5, in_process=True)
    dispatch.experiment_promote(experiment=experiment, winner=active, in_process=True)
    experiment.refresh_from_db()
    assert experiment.winner_id == active.pk and experiment.ended_at is not None
    assert ModelVersion.objects.get(is_active=True) == active
    assert {serving_version_id(u.pk) for u in users} == {active.pk}


def test_an_experiment_refuses_the_active_version_and_a_second_experiment(two_versions):
    _, active, challenger = two_versions
    with pytest.raises(services.ExperimentError, match="active version"):
        dispatch.experiment_start(challenger=active, share=0.5)
    with pytest.raises(services.ExperimentError, match="between 0 and 1"):
        dispatch.experiment_start(challenger=challenger, share=1.5)
    dispatch.experiment_start(challenger=challenger, share=0.5, in_process=True)
    with pytest.raises(services.ExperimentError, match="another experiment"):
        dispatch.experiment_start(challenger=challenger, share=0.2)


def test_a_running_challenger_is_never_pruned(two_versions, settings):
    _, _, challenger = two_versions
    dispatch.experiment_start(challenger=challenger, share=0.5, in_process=True)
    for _ in range(3):  # newer finished versions push the challenger past the kept count
        ModelVersion.objects.create(preset="x", state=ModelVersion.State.READY, artifact_path="/nowhere")
    services.versions_prune(keep=1)
    challenger.refresh_from_db()
    assert challenger.artifact_path
