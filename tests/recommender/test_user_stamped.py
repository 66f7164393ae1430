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
