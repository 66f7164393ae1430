"""The local services the deployment checks run against."""

import socket

import pytest

# Fixtures: the integration tests' settings and real Celery workers.
from tests.integration.conftest import stack, start_worker  # noqa: F401


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
