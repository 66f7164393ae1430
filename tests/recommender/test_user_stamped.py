"""user_stamped: a per-user cache entry current while its stamp (version, generation) holds."""

import pytest
from django.core.cache import cache

from recommender.services.user_generation import (
    KEEP_SECONDS,
    stamped_keep,
    stamped_store,
    user_generation_bump,
    user_generation_key,
    user_stamped,
)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _read(user_id: int, key: str, version_id: int, build, seconds: int = 300):
    found = cache.get_many([user_generation_key(user_id), key])
    return user_stamped(found, user_id=user_id, key=key, version_id=version_id, build=build, seconds=seconds)


def test_it_builds_once_while_the_stamp_holds_and_again_after_a_bump_or_another_version():
    built = []

    def build():
        built.append(1)
        return len(built)

    assert _read(7, "k:7", 1, build) == 1
    assert _read(7, "k:7", 1, build) == 1
    user_generation_bump(user_id=7)
    assert _read(7, "k:7", 1, build) == 2
    assert _read(7, "k:7", 2, build) == 3


def test_entries_made_together_do_not_all_expire_together(mocker):
    """Their lifetimes are drawn between half the given seconds and all of it, so a burst of
    visits is not followed, a lifetime later, by a burst of rebuilds."""
    stored = mocker.spy(cache, "set")
    for user_id in range(50):
        _read(user_id, f"k:{user_id}", 1, lambda: "x", seconds=300)
    lifetimes = [c.args[2] for c in stored.call_args_list if c.args[0].startswith("k:")]
    assert len(lifetimes) == 50
    assert all(150 <= s <= 300 for s in lifetimes)
    assert len(set(lifetimes)) > 10


def test_a_stale_entry_is_served_and_refreshed_once_until_the_stamp_changes():
    refreshed, built = [], []

    def read():
        found = cache.get_many([user_generation_key(7), "k:7"])
        return user_stamped(
            found,
            user_id=7,
            key="k:7",
            version_id=1,
            build=lambda: built.append(1) or len(built),
            seconds=300,
            refresh=lambda: refreshed.append(1),
            stale_seconds=600,
        )

    assert read() == 1
    stamp, value, *_ = cache.get("k:7")
    cache.set("k:7", (stamp, value, 0), 600)  # past its fresh lifetime
    assert read() == 1 and read() == 1
    assert len(refreshed) == 1 and len(built) == 1
    user_generation_bump(user_id=7)
    assert read() == 2 and len(refreshed) == 1


@pytest.mark.parametrize(
    ("built_at_catalogue", "age", "kept"),
    [(5, 0, True), (4, 0, False), (None, 0, False), (5, KEEP_SECONDS + 1, False)],
    ids=["same catalogue", "catalogue moved", "catalogue unknown", "kept too long"],
)
def test_a_refresh_keeps_an_entry_only_while_its_catalogue_generation_holds(built_at_catalogue, age, kept):
    stamp = (1, 10)
    stamped_store("k:8", stamp, "value", seconds=300, stale_seconds=600, catalogue=built_at_catalogue)
    _stamp, _value, _fresh_until, catalogue, built_at = cache.get("k:8")
    cache.set("k:8", (stamp, "value", 0, catalogue, built_at - age), 600)
    found = cache.get_many(["k:8"])
    assert stamped_keep(found, "k:8", stamp, 5, seconds=300, stale_seconds=600) is kept
    entry = cache.get("k:8")
    assert (entry[2] > 0) is kept, "kept: fresh again"
    if kept:
        assert entry[3:] == (5, built_at), "still dated from its build"
    assert stamped_keep(found, "k:8", (1, 11), 5, seconds=300, stale_seconds=600) is False, "another stamp"
