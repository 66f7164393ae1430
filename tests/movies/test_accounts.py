"""Sign up, log in, log out and password change."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.movies.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-77"


def _signup(client: Client, username: str):
    return client.post(reverse("signup"), {"username": username, "password1": PASSWORD, "password2": PASSWORD})


def test_the_signup_page_renders_its_form(client):
    response = client.get(reverse("signup"))
    assert response.status_code == 200
    assert "registration/signup.html" in [t.name for t in response.templates]
    assert b'name="password2"' in response.content


def test_signing_up_creates_the_user_and_logs_them_in(client):
    response = _signup(client, "dora")
    assert response.status_code == 302 and response.url == reverse("home")
    user = get_user_model().objects.get(username="dora")
    assert client.session["_auth_user_id"] == str(user.pk)
    home = client.get(reverse("home"))
    assert "movies/_home_personal.html" in [t.name for t in home.templates]


@pytest.mark.parametrize("username", ["movielens-x", "movielens-42", "MovieLens-7"])
def test_signup_rejects_usernames_reserved_for_imported_movielens_users(client, username):
    response = _signup(client, username)
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert b"reserved for imported MovieLens users" in response.content
    assert not get_user_model().objects.filter(username__iexact=username).exists()


def test_signup_rejects_mismatched_passwords(client):
    response = client.post(reverse("signup"), {"username": "dora", "password1": PASSWORD, "password2": PASSWORD + "x"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="dora").exists()


def test_signup_without_csrf_token_is_403(db):
    response = _signup(Client(enforce_csrf_checks=True), "dora")
    assert response.status_code == 403


def test_logged_in_users_are_sent_home_from_signup(alice):
    client = Client()
    client.force_login(alice)
    assert client.get(reverse("signup")).url == reverse("home")


def test_log_in_and_log_out(alice):
    client = Client()
    page = client.get(reverse("login"))
    assert "registration/login.html" in [t.name for t in page.templates]
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_refused(alice, client):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_changing_the_password(alice):
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("password_change"))
    assert "registration/password_change_form.html" in [t.name for t in page.templates]
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    done = client.get(response.url)
    assert "registration/password_change_done.html" in [t.name for t in done.templates]
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
