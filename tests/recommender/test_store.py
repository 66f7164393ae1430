"""The per-user list store against a real Redis (the shared one, under a private prefix)."""

import os
import signal
import time

import numpy as np
import pytest

from recommender.store import ListStore
from tests.redis_server import private_redis

pytestmark = pytest.mark.integration


@pytest.fixture
def store(lists_on_redis, settings):
    return ListStore(lists_on_redis, prefix=settings.RECOMMENDER_LISTS_PREFIX, live_cache_seconds=0)


def test_it_serves_nothing_before_a_version_is_published(store):
    store.put_many(1, [10, 11], np.array([[1, 2, 3], [4, 5, 6]]))
    assert store.get(10) is None


def test_a_published_version_serves_each_users_own_list(store):
    store.put_many(1, [10, 11], np.array([[1, 2, 3], [4, 5, 6]]))
    store.publish(1)
    version, ids = store.get(11)
    assert version == 1
    assert ids.tolist() == [4, 5, 6]
    assert store.get(12) is None  # a miss, not an error


def test_publishing_switches_every_reader_at_once_and_retires_the_old_version(store):
    store.put_many(1, [10], np.array([[1, 2, 3]]))
    store.publish(1)
    store.put_many(2, [10], np.array([[7, 8, 9]]))
    assert store.get(10)[1].tolist() == [1, 2, 3]  # writing v2 changes nothing for readers
    assert store.publish(2) == 1
    version, ids = store.get(10)
    assert (version, ids.tolist()) == (2, [7, 8, 9])
    assert 0 < store.client.ttl(store.lists_key(1)) <= store.retired_ttl
    assert store.client.ttl(store.lists_key(2)) == -1


def test_ids_are_packed_four_bytes_each(store):
    lists = np.arange(100 * 50, dtype=np.int64).reshape(50, 100)
    store.put_many(3, range(50), lists)
    raw = store.client.hget(store.lists_key(3), "7")
    assert len(raw) == 400
    assert store.count(3) == 50


def test_one_users_list_can_be_replaced_in_place(store):
    store.put_many(1, [10], np.array([[1, 2, 3]]))
    store.publish(1)
    assert store.put(1, 10, np.array([9, 8]))
    assert store.get(10)[1].tolist() == [9, 8]


def _store_at(url: str) -> ListStore:
    return ListStore.from_url(url, prefix="t", live_cache_seconds=0, backoff=5.0)


def test_a_stopped_redis_costs_one_quick_miss_then_none(tmp_path):
    with private_redis(tmp_path) as (proc, url):
        store = _store_at(url)
        store.put_many(1, [10], np.array([[1, 2]]))
        store.publish(1)
        proc.kill()
        proc.wait()
        started = time.monotonic()
        assert store.get(10) is None
        assert store.get(10) is None  # backing off: no second connection attempt
        assert time.monotonic() - started < 1.0
        assert not store.available


def test_a_frozen_redis_answers_within_the_socket_timeout(tmp_path):
    with private_redis(tmp_path) as (proc, url):
        store = _store_at(url)
        store.put_many(1, [10], np.array([[1, 2]]))
        store.publish(1)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            results = [store.get(10) for _ in range(20)]
            elapsed = time.monotonic() - started
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert results == [None] * 20
        assert elapsed < 1.0


def test_short_lists_drop_their_padding(store):
    store.put_many(1, [10, 11], np.array([[5, 6, -1], [7, 8, 9]]))
    store.publish(1)
    assert store.get(10)[1].tolist() == [5, 6]
    assert store.get(11)[1].tolist() == [7, 8, 9]
