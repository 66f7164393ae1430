"""Schemathesis over the whole published schema: every operation, 100+ examples each.

Run alone with `-m schemathesis`. The app is called in process (WSGI), with a
small trained model so picks and similar movies take their real paths, and with
alice's bearer token so the "me" operations run as a user rather than answer 401.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from accounts.tokens import api_token_create
from config.wsgi import application
from tests.trained import install
from tests.worlds import two_tastes_world

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

EXAMPLES = 100


@pytest.fixture
def trained_world(db, trained_run) -> str:
    """The two-tastes world with a trained, active version (the session's, copied); returns fan0's token."""
    users = two_tastes_world()
    install(trained_run)
    return api_token_create(user=users[0], name="fuzz").secret


# Building the schema needs no database, so it loads at collection like any parametrize.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# Data that breaks the schema as well as data that fits it: both must get a 4xx or a 2xx, never a 500.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the database connection after each WSGI request; in a test that connection
    holds the test's transaction. Django's own test client turns this off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,  # the same examples every run: a failure in CI reproduces locally
)
def test_every_operation_answers_per_its_schema_and_never_500(case, trained_world):
    case.call_and_validate(headers={"Authorization": f"Bearer {trained_world}"})
