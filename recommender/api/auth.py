"""How API callers prove who they are.

Programs send `Authorization: Bearer <token>`: no cookies, so no CSRF risk (a
browser never adds that header to a cross-site request on its own). The site's
own pages call the API with their session cookie; for those, every unsafe
method must carry the CSRF token, as Django's forms do.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts.tokens import api_token_user


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mvr_...`, a token the user made on their account page."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(secret=token.strip())
        if user is None:
            # A wrong token is an error of its own, not a cue to try the session:
            # a program with a revoked token should hear exactly that.
            raise AuthenticationError(message="Invalid or revoked API token.")
        request.user = user
        return user


class SessionCsrfAuth(APIKeyCookie):
    """The Django session of a logged-in user; unsafe methods need the CSRF token.

    Unlike ninja's django_auth, the CSRF check runs only when the session holds a
    user: an anonymous call then gets 401 (log in or send a token), not 403.
    """

    # The name shown in the schema; the cookie itself is read by the session middleware.
    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(settings.SESSION_COOKIE_NAME)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's value.")
        return request.user


token_auth = TokenAuth()
session_auth = SessionCsrfAuth()
# Order matters: a request with a bearer token is judged on the token alone.
USER_AUTH = [token_auth, session_auth]
