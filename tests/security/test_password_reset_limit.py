"""Password reset requests are limited per email and per asking address (issue 15, item 8)."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh(settings, limits_fresh):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 3
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 10
    settings.PASSWORD_RESET_LIMIT_WINDOW = 3600


def _reset(client, email: str, address: str = "198.51.100.7"):
    return client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=address)


def test_thirty_requests_for_one_email_send_at_most_three_mails(client):
    User.objects.create_user("alice", email="alice@example.org", password="a-long-test-passphrase-42")
    statuses = [_reset(client, "alice@example.org", address=f"198.51.100.{n}").status_code for n in range(30)]
    assert statuses.count(302) == 3
    assert statuses.count(429) == 27
    assert len(mail.outbox) == 3


def test_one_address_asking_for_many_emails_is_limited(client):
    responses = [_reset(client, f"user{n}@example.org") for n in range(30)]
    accepted = [r for r in responses if r.status_code == 302]
    assert len(accepted) == 10
    refused = responses[-1]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many password reset requests" in refused.content.decode()
