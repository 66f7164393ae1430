"""user_stamped: a per-user cache entry current while its stamp (version, generation) holds."""

import pytest
from django.core.cache import cache

from recommender.services.user_generation import user_generation_bump, user_generation_key, user_stamped


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
    stamp, value, _fresh_until = cache.get("k:7")
    cache.set("k:7", (stamp, value, 0), 600)  # past its fresh lifetime
    assert read() == 1 and read() == 1
    assert len(refreshed) == 1 and len(built) == 1
    user_generation_bump(user_id=7)
    assert read() == 2 and len(refreshed) == 1
