"""API tokens in Django admin: the list, search by user, the revoke action; never a secret or its hash."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_apitoken_changelist")


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-not-used-here"))
    return client


@pytest.fixture
def tokens(alice, carol):
    made = {
        "alice-phone": api_token_create(user=alice, name="phone app"),
        "alice-script": api_token_create(user=alice, name="backup script"),
        "carol-laptop": api_token_create(user=carol, name="laptop"),
    }
    api_token_revoke(user=alice, token_id=made["alice-script"].token.pk)
    return made


def _never_shown(content: bytes, tokens) -> None:
    for new in tokens.values():
        stored = ApiToken.objects.get(pk=new.token.pk)
        assert new.secret.encode() not in content
        assert stored.token_hash.encode() not in content


def test_the_list_shows_user_name_and_dates_but_never_a_secret_or_hash(admin_client, tokens):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("phone app", "backup script", "laptop", "alice", "carol", "Last used at", "Revoked at", "Created at"):
        assert text in page, text
    _never_shown(response.content, tokens)


def test_the_list_searches_by_user(admin_client, tokens):
    shown = [t.name for t in admin_client.get(CHANGELIST, {"q": "carol"}).context["cl"].result_list]
    assert shown == ["laptop"]


def test_the_list_filters_live_and_revoked_tokens(admin_client, tokens):
    revoked = admin_client.get(CHANGELIST, {"revoked_at__isnull": "False"}).context["cl"].result_list
    assert [t.name for t in revoked] == ["backup script"]


def test_one_token_page_is_read_only_and_hides_the_hash(admin_client, tokens):
    token = tokens["alice-phone"].token
    response = admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    assert response.status_code == 200
    assert b"phone app" in response.content and b"token_hash" not in response.content
    assert not response.context["adminform"].form.fields  # every field is read-only
    _never_shown(response.content, tokens)
    assert admin_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403


def test_the_revoke_action_refuses_the_tokens_at_once(redis_cache, admin_client, tokens):
    phone = tokens["alice-phone"]
    as_phone = Client(headers={"Authorization": f"Bearer {phone.secret}"})
    assert as_phone.get("/api/me/ratings").status_code == 200  # now remembered in the cache
    selected = [phone.token.pk, tokens["alice-script"].token.pk]
    response = admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": selected}, follow=True)
    assert "Revoked 1 token(s)" in response.content.decode()
    assert ApiToken.objects.get(pk=phone.token.pk).is_revoked
    assert not ApiToken.objects.get(pk=tokens["carol-laptop"].token.pk).is_revoked
    refused = as_phone.get("/api/me/ratings")
    assert refused.status_code == 401 and refused.json()["detail"] == "Invalid or revoked API token."


def test_deleting_a_token_in_admin_refuses_it_at_once(redis_cache, admin_client, tokens):
    phone = tokens["alice-phone"]
    as_phone = Client(headers={"Authorization": f"Bearer {phone.secret}"})
    assert as_phone.get("/api/me/ratings").status_code == 200
    url = reverse("admin:accounts_apitoken_delete", args=[phone.token.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not ApiToken.objects.filter(pk=phone.token.pk).exists()
    assert as_phone.get("/api/me/ratings").status_code == 401


def test_staff_without_the_token_permissions_cannot_see_the_list(db, tokens):
    staff = get_user_model().objects.create_user("clerk", password="pw-not-used-here", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(CHANGELIST).status_code == 403
