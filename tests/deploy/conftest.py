"""The local services the deployment checks run against."""

import socket

import pytest

from tests.integration.conftest import redis_url  # noqa: F401 (a fixture: REDIS_URL, checked to answer)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
