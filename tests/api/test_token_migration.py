"""Moving ApiToken into accounts keeps a database's tokens: the same rows, still accepted, and the
permissions given on them follow the model."""

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import PREFIX_SHOWN, TOKEN_PREFIX, token_hash

LAST_BEFORE_THE_MOVE = ("recommender", "0006_credential_generation")
SECRET = TOKEN_PREFIX + "made-before-the-move"


def _migrate_forward():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def before_the_move(transactional_db):
    """The test database with the move unapplied: the apps (historical models) of that state.
    Migrated forward again afterwards whatever the test did, so later tests find the schema."""
    executor = MigrationExecutor(connection)
    executor.migrate([LAST_BEFORE_THE_MOVE, ("accounts", None)])
    yield executor.loader.project_state(LAST_BEFORE_THE_MOVE).apps
    _migrate_forward()


def test_a_database_migrated_past_the_move_keeps_its_tokens_working(before_the_move):
    old = before_the_move
    alice = old.get_model("auth", "User").objects.create(username="alice", is_active=True)
    old.get_model("recommender", "ApiToken").objects.create(
        user=alice, name="phone", prefix=SECRET[:PREFIX_SHOWN], token_hash=token_hash(SECRET)
    )
    may_revoke = old.get_model("auth", "Permission").objects.get(
        content_type__app_label="recommender", codename="change_apitoken"
    )
    alice.user_permissions.add(may_revoke)

    _migrate_forward()

    token = ApiToken.objects.get()
    assert (token.user_id, token.name, token.token_hash) == (alice.pk, "phone", token_hash(SECRET))
    assert "recommender_apitoken" not in connection.introspection.table_names()
    response = Client(headers={"Authorization": f"Bearer {SECRET}"}).get("/api/me/ratings")
    assert response.status_code == 200
    assert User.objects.get(pk=alice.pk).has_perm("accounts.change_apitoken")
    assert not Permission.objects.filter(content_type__app_label="recommender", codename="change_apitoken").exists()
