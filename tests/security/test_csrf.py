"""Every URL that takes POST, PUT, PATCH or DELETE refuses a logged-in user's request without a good CSRF token.

The URLs are found by walking the resolver (the site, admin and the API), not listed by hand,
so a view added without CSRF protection fails here. Each is sent every unsafe method with the
token missing, too short, wrong, and from another session: all 403, or 405 where the method
is not taken at all. The API's bearer-token calls need no CSRF token (a browser never adds
that header to a cross-site request); so the API's unsafe calls must refuse a request that
has neither a session nor a token (401).
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

from movies.models import Movie

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")
# Documented exemptions: URLs whose unsafe calls take a bearer token only, never the session
# (they answer a session 401, not 403). None today: every API call also serves the site's pages.
BEARER_ONLY: set[str] = set()
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")


def _route_sample(route: str) -> str:
    def value(match: re.Match) -> str:
        return "00000000-0000-0000-0000-000000000001" if match["converter"] == "uuid" else "1"

    return _ROUTE_PARAM.sub(value, route)


def _regex_sample(regex: str) -> str:
    def value(match: re.Match) -> str:
        body = match["body"]
        # An alternation of names (admin's app list) takes its first; anything else gets "1".
        return body.split("|")[0] if re.fullmatch(r"[\w|]+", body) else "1"

    return _REGEX_GROUP.sub(value, regex.removeprefix("^").removesuffix("$"))


def _sample(pattern: RoutePattern | RegexPattern | LocalePrefixPattern) -> str:
    return _route_sample(str(pattern)) if isinstance(pattern, RoutePattern) else _regex_sample(str(pattern))


def _walk(patterns: list, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, prefix + _sample(pattern.pattern))
        else:
            found.append((prefix + _sample(pattern.pattern), pattern))
    return found


def _urls() -> list[str]:
    urls = []
    for path, _ in _walk(get_resolver().url_patterns):
        url = "/" + path
        if url not in urls:
            urls.append(url)
    return urls


def test_every_url_pattern_gets_a_concrete_url_that_resolves():
    unresolved = []
    for url in _urls():
        try:
            resolve(url)
        except Exception as exc:  # a new kind of pattern: teach _sample to fill it in
            unresolved.append(f"{url}: {exc!r}")
    assert not unresolved
    # The walk reaches the site's, the admin's and the API's state-changing URLs.
    urls = _urls()
    for url in ("/movies/1/rating/", "/accounts/logout/", "/admin/recommender/modelversion/retrain/"):
        assert url in urls
    assert "/api/me/ratings/1" in urls


def _token_in(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None, "no CSRF token in the page"
    return found[1]


@pytest.fixture
def clients() -> tuple[Client, str, str]:
    """A logged-in superuser's client enforcing CSRF, its cookie's secret, and another session's token."""
    me = Client(enforce_csrf_checks=True)
    me.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    me.get("/accounts/login/")
    other = Client(enforce_csrf_checks=True)
    other.force_login(User.objects.create_user("mallory", password="pw"))
    foreign = _token_in(other.get("/accounts/login/").content.decode())
    return me, me.cookies["csrftoken"].value, foreign


def _bad_tokens(secret: str, foreign: str) -> dict[str, str | None]:
    wrong = "".join("a" if c != "a" else "b" for c in secret)  # the right length and alphabet, not ours
    return {"missing": None, "too short": secret[:8], "wrong": wrong, "foreign": foreign}


@pytest.mark.parametrize("url", _urls())
def test_unsafe_requests_without_a_good_csrf_token_are_refused(url, clients):
    me, secret, foreign = clients
    assert secret and foreign and foreign[:32] != secret
    accepted = []
    for method in UNSAFE:
        answers = {}
        for case, token in _bad_tokens(secret, foreign).items():
            headers = {} if token is None else {"HTTP_X_CSRFTOKEN": token}
            answers[case] = getattr(me, method)(url, **headers).status_code
        if set(answers.values()) == {405}:
            continue  # the method is not taken here, whatever the token
        accepted.append(method)
        expected = 401 if url in BEARER_ONLY else 403
        assert set(answers.values()) == {expected}, f"{method.upper()} {url}: {answers}"
    if getattr(resolve(url).func, "csrf_exempt", False):
        # The API's calls do their own CSRF check (recommender/api/auth.py), for sessions only.
        # The exemption's other side: without a session, no token means no entry.
        for method in accepted:
            assert getattr(Client(), method)(url).status_code == 401, f"{method.upper()} {url} without a token"
            bad = getattr(Client(), method)(url, HTTP_AUTHORIZATION="Bearer mvr_not-a-token")
            assert bad.status_code == 401, f"{method.upper()} {url} with a wrong token"


def test_the_same_requests_with_the_right_token_go_through(clients):
    # The control: the harness's logged-in client and token are good, so the 403s above are CSRF's.
    me, secret, _ = clients
    movie = Movie.objects.create(id=1, title="Film 1", year=2001)
    response = me.put(
        f"/api/me/ratings/{movie.pk}", {"value": 4.0}, content_type="application/json", HTTP_X_CSRFTOKEN=secret
    )
    assert response.status_code == 200, response.content
    response = me.post(f"/movies/{movie.pk}/rating/", {"value": "3.5"}, HTTP_X_CSRFTOKEN=secret)
    assert response.status_code in (200, 302), response.content
    assert me.post("/accounts/logout/", HTTP_X_CSRFTOKEN=secret).status_code == 302
