"""Failed logins are limited per account and address, and per address (accounts/login_limit.py)."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts import login_limit
from tests.redis_server import _free_port

pytestmark = pytest.mark.django_db

RIGHT = "a-long-correct-password"


@pytest.fixture(autouse=True)
def limits(settings, limits_fresh):
    settings.LOGIN_LIMIT_PER_ACCOUNT = 5
    settings.LOGIN_LIMIT_PER_ADDRESS = 8
    settings.LOGIN_LIMIT_WINDOW = 900


@pytest.fixture
def users():
    alice = User.objects.create_user("alice", password=RIGHT)
    bob = User.objects.create_user("bob", password=RIGHT)
    carol = User.objects.create_user("carol", password=RIGHT, is_staff=True)
    return alice, bob, carol


def _login(client: Client, username: str, password: str, url: str | None = None, address: str = "10.0.0.1"):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client: Client, username: str, times: int, **kwargs) -> None:
    for _ in range(times):
        response = _login(client, username, "wrong", **kwargs)
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_sixth_attempt_is_refused_even_with_the_right_password(client, users):
    _fail(client, "alice", 5)
    response = _login(client, "alice", RIGHT)
    assert response.status_code == 429
    assert "Too many failed logins: try again in 15 minutes." in response.content.decode()
    assert int(response["Retry-After"]) == 900
    assert not _logged_in(client)


def test_another_account_from_the_same_address_is_allowed_up_to_the_address_limit(client, users):
    _fail(client, "alice", 5)
    assert _login(client, "bob", RIGHT).status_code == 302
    client.logout()
    # alice's 5 and these 3 make the address's 8: then every account from it is refused.
    _fail(client, "bob", 2)
    _fail(client, "nobody-by-this-name", 1)
    assert _login(client, "bob", RIGHT).status_code == 429
    assert _login(client, "carol", RIGHT).status_code == 429
    # ... but not from another address, not even alice's account.
    assert _login(client, "alice", RIGHT, address="10.0.0.2").status_code == 302


def test_logins_work_again_once_the_window_has_passed(client, users, monkeypatch):
    _fail(client, "alice", 5)
    assert _login(client, "alice", RIGHT).status_code == 429
    start = login_limit._now()
    monkeypatch.setattr(login_limit, "_now", lambda: start + 899)
    assert _login(client, "alice", RIGHT).status_code == 429
    monkeypatch.setattr(login_limit, "_now", lambda: start + 901)
    assert _login(client, "alice", RIGHT).status_code == 302
    assert _logged_in(client)


def test_a_successful_login_clears_the_accounts_count_but_not_the_addresss(client, users, settings):
    settings.LOGIN_LIMIT_PER_ADDRESS = 12
    _fail(client, "alice", 4)
    assert _login(client, "alice", RIGHT).status_code == 302
    client.logout()
    _fail(client, "alice", 4)
    assert _login(client, "alice", RIGHT).status_code == 302
    client.logout()
    # The address's 8 failures still count: a good login cannot buy more guesses at other accounts.
    _fail(client, "bob", 4)
    assert _login(client, "bob", RIGHT).status_code == 429


def test_the_username_is_counted_whatever_its_case(client, users):
    _fail(client, "Alice", 3)
    _fail(client, "ALICE ", 2)
    assert _login(client, "alice", RIGHT).status_code == 429


def test_the_admin_login_is_limited_too(client, users):
    url = reverse("admin:login")
    for _ in range(5):
        assert _login(client, "carol", "wrong", url=url).status_code == 200
    response = _login(client, "carol", RIGHT, url=url)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _logged_in(client)


def test_behind_a_proxy_the_address_is_the_one_it_saw(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    # The client may send any X-Forwarded-For; only the entry our proxy appended counts.
    request = rf.post("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", REMOTE_ADDR="10.0.0.1")
    assert login_limit.client_address(request) == "203.0.113.9"
    settings.TRUSTED_PROXIES = []
    assert login_limit.client_address(request) == "10.0.0.1"


@pytest.fixture
def redis_away(settings):
    """The shared cache pointed at a port where no Redis listens, erring silently as in production."""
    settings.CACHES = {
        **settings.CACHES,  # the process's own fragments cache stays
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True},
        },
    }
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
    cache.set("probe", 1)
    assert cache.get("probe") is None  # nothing is counted in the shared cache


def test_with_redis_away_logins_are_still_limited_in_each_process(redis_away, client, users):
    _fail(client, "alice", 5)
    response = _login(client, "alice", RIGHT)
    assert response.status_code == 429
    assert not _logged_in(client)
    # The owner from another address, and other accounts up to the address limit, still get in.
    assert _login(client, "alice", RIGHT, address="10.0.0.2").status_code == 302
    client.logout()
    assert _login(client, "bob", RIGHT).status_code == 302
    client.logout()
    _fail(client, "bob", 3)  # the address's 8th failure
    assert _login(client, "carol", RIGHT).status_code == 429
