"""Two-tastes versions trained once per test session and installed as a fresh copy in each test.

Training (Keras, then the t-SNE map and the clusters) is the slow part of most tests that need a
model; what they look at is its result. `train_once` trains on tests.worlds.two_tastes_world() in
a transaction it rolls back and keeps the version's folder and row. `install` then gives a test
what `train_version` would have given it on the same world: the folder under the test's
MODEL_ARTIFACT_DIR and a ModelVersion row in the state training leaves it, optionally with its
lists built (which activates it). The world's ratings are the same in every test, but its users
get new primary keys (sequences are not rolled back), so the factors are rewritten with the
test's user ids, matched by username; the rest of the arrays is copied bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from movies.models import Rating
from recommender import dispatch, services
from recommender.engine.factors import load_factors, save_factors
from recommender.models import ModelVersion
from recommender.services import explore, factors_cache
from recommender.services.versions import artifact_dir, version_update
from tests.worlds import FAST, two_tastes_world

# The row's fields that train_version fills in; the rest belong to the copy (ids, times, path).
_TRAINED_FIELDS = (
    "preset",
    "params",
    "state",
    "epoch",
    "epochs",
    "history",
    "plan",
    "step",
    "metrics",
    "error",
    "n_ratings",
    "n_users",
    "n_movies",
)


@dataclass(frozen=True)
class TrainedRun:
    """One training of the two-tastes world, kept for the session."""

    seed: int
    directory: Path  # the version's folder: factors, their metadata, explore.json, ratings.parquet
    factors_name: str  # the .npz inside it
    fields: dict  # the row as train_version left it
    usernames: dict[int, str]  # user id in the factors -> username


def train_once(*, directory: Path, seed: int) -> TrainedRun:
    """Train FAST on the two-tastes world in a rolled-back transaction; keep the folder in `directory`.

    The caller unblocks the database (a session fixture runs outside any test's transaction).
    """
    with override_settings(MODEL_ARTIFACT_DIR=directory / "models"), transaction.atomic():
        users = two_tastes_world()
        version = services.version_create(overrides=FAST)
        services.train_version(version=version, seed=seed)
        version.refresh_from_db()
        usernames = {user.pk: user.username for user in users}
        kept = directory / f"seed-{seed}"
        shutil.copytree(artifact_dir(version), kept)
        run = TrainedRun(
            seed=seed,
            directory=kept,
            factors_name=Path(version.artifact_path).name,
            fields={name: getattr(version, name) for name in _TRAINED_FIELDS},
            usernames=usernames,
        )
        transaction.set_rollback(True)
    factors_cache.forget()
    explore.forget()
    return run


def install(run: TrainedRun, *, publish: bool = True) -> ModelVersion:
    """The run as a new version of this test's two-tastes world, as train_version leaves it.

    1. Queue a version (AlreadyRunning if one is running, as for a real training).
    2. Write the factors with this world's user ids, the explore file naming the new version,
       and the snapshot of this world's ratings, under MODEL_ARTIFACT_DIR/v<id>/.
    3. Fill in the row as training does.
    4. With `publish`, build its lists, which activates it, and empty the processes' caches.
    """
    from recommender.snapshot import ratings_snapshot, snapshot_write  # pandas, as in training

    by_name = dict(User.objects.filter(username__in=run.usernames.values()).values_list("username", "pk"))
    missing = set(run.usernames.values()) - set(by_name)
    assert not missing, f"install() needs the two-tastes world; missing users {sorted(missing)[:3]}"
    assert Rating.objects.count() == run.fields["n_ratings"], "the ratings differ from the two-tastes world"

    version = services.version_create(preset=run.fields["preset"], overrides=run.fields["params"])
    started_at = timezone.now()
    directory = artifact_dir(version)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)

    factors = load_factors(run.directory / run.factors_name)
    user_ids = np.array([by_name[run.usernames[int(old)]] for old in factors.user_ids], dtype=np.int64)
    assert np.all(np.diff(user_ids) > 0), "users must keep their order (created in the same order)"
    metadata = {**factors.metadata, "version": version.pk, "snapshot_at": started_at.isoformat()}
    path = save_factors(dataclasses.replace(factors, user_ids=user_ids, metadata=metadata), directory)

    explore_file = run.directory / explore.FILENAME
    if explore_file.exists():
        data = json.loads(explore_file.read_text())
        explore.explore_write(data={**data, "version": version.pk}, directory=directory)
    snapshot_bytes = snapshot_write(ratings_snapshot(), directory / "ratings.parquet")

    fields = dict(run.fields)
    fields["metrics"] = {**fields["metrics"], "snapshot_bytes": snapshot_bytes}
    version_update(version, **fields, started_at=started_at, artifact_path=str(path))
    if publish:
        dispatch.lists_build(version=version, in_process=True)
        factors_cache.forget()
        explore.forget()
        version.refresh_from_db()
    return version
