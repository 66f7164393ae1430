"""The local services the deployment checks run against."""

import os
import socket

import pytest
import redis

from tests.conftest import need


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    need(bool(url), "REDIS_URL pointing at a running Redis")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.ConnectionError:
        need(False, f"Redis answering at {url}")
    return url


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
