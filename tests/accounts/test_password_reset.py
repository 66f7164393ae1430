"""Password reset through the site's pages: the mail, its link, the new password (Django's views, our templates)."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limits_fresh")]

OLD, NEW = "a-long-test-passphrase-42", "another-long-passphrase-77"


def test_a_reset_mail_holds_a_link_that_sets_a_new_password_once(client):
    User.objects.create_user("alice", email="alice@example.org", password=OLD)
    page = client.get("/accounts/password_reset/")
    assert page.status_code == 200 and b"Reset your password" in page.content and b"site.css" in page.content
    response = client.post("/accounts/password_reset/", {"email": "Alice@Example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert b"Check your e-mail" in client.get(response["Location"]).content

    (message,) = mail.outbox
    assert message.to == ["alice@example.org"] and "Reset your password" in message.subject
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True)
    assert b"Your password is changed" in done.content

    assert not client.login(username="alice", password=OLD)
    assert client.login(username="alice", password=NEW)
    client.logout()
    again = client.get(link, follow=True)
    assert b"This link no longer works" in again.content


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_the_login_page_links_to_the_reset_and_signup_takes_an_optional_email(client):
    assert b'href="/accounts/password_reset/"' in client.get("/accounts/login/").content
    password = {"password1": OLD, "password2": OLD}
    dora = {"username": "dora", "email": "dora@example.org", **password}
    assert client.post("/accounts/signup/", dora).status_code == 302
    assert User.objects.get(username="dora").email == "dora@example.org"
    client.logout()
    assert client.post("/accounts/signup/", {"username": "erin", **password}).status_code == 302
    assert User.objects.get(username="erin").email == ""


def test_a_member_without_an_address_adds_one_with_the_password_and_can_then_reset(client):
    User.objects.create_user("frank", password=OLD)
    client.login(username="frank", password=OLD)
    assert b"Add an e-mail address" in client.get("/accounts/me/").content
    wrong = client.post("/accounts/me/email/", {"email": "frank@example.org", "password": "not-it"})
    assert wrong.status_code == 422 and b"That is not your password" in wrong.content
    assert User.objects.get(username="frank").email == ""
    saved = client.post("/accounts/me/email/", {"email": "frank@example.org", "password": OLD})
    assert saved.status_code == 302 and saved["Location"] == "/accounts/me/"
    assert User.objects.get(username="frank").email == "frank@example.org"
    client.logout()
    client.post("/accounts/password_reset/", {"email": "frank@example.org"})
    assert [m.to for m in mail.outbox] == [["frank@example.org"]]


def test_an_address_change_ends_the_links_already_mailed(client):
    User.objects.create_user("gina", email="gina@example.org", password=OLD)
    client.post("/accounts/password_reset/", {"email": "gina@example.org"})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    client.login(username="gina", password=OLD)
    client.post("/accounts/me/email/", {"email": "gina@elsewhere.org", "password": OLD})
    client.logout()
    assert b"This link no longer works" in client.get(link, follow=True).content
