"""Failed logins are limited per account and address, and per address, in the Django cache.

The site's login form and the admin's use the form mixin below: after
LOGIN_LIMIT_PER_ACCOUNT failures for one username from one address, or
LOGIN_LIMIT_PER_ADDRESS failures from one address whatever the usernames, within
LOGIN_LIMIT_WINDOW seconds of the first of them, the form refuses every attempt
(the right password included) with a message saying when to try again, and the
view answers 429. A successful login clears its account's count; the address's
count only ends with its window, so one good account cannot reset it for guesses
at others. Nothing locks an account for everyone: the owner, from their own
address, can still log in while someone else guesses.

The counts live in the cache (Redis in production, shared by every web process;
per process on the embedded defaults), and each process also keeps its own copy in
memory: the limit is whichever count is higher. With Redis away (the cache then
ignores errors and counts nothing) logins stay limited, per process: at worst the
number of web processes times the limits, never unlimited guessing, and never an
owner locked out by an outage.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse

TOO_MANY = "too_many_attempts"


def _now() -> float:
    return time.time()  # one place, so tests move the clock instead of sleeping


def client_address(request: HttpRequest) -> str:
    """The address the nearest trusted proxy saw (X-Forwarded-For, counted from the right), else the peer's."""
    proxies = settings.TRUSTED_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# This process's copy of the counts (see the module doc). Bounded like any LocMemCache: the oldest
# entries go first once MAX_ENTRIES is reached.
_local = LocMemCache("login-limit", {"OPTIONS": {"MAX_ENTRIES": 50_000}})


def _keys(username: str, address: str) -> tuple[str, str]:
    # Hashed: usernames are user input of any length and characters, unfit for a cache key as they are.
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:acct:{account}:{address}", f"login-fail:addr:{address}"


def _count(key: str, now: float) -> tuple[int, float]:
    """(failures, seconds left) of a key's window, the higher of the shared and the local count."""
    return max(_count_in(cache, key, now), _count_in(_local, key, now))


def _count_in(store: Any, key: str, now: float) -> tuple[int, float]:
    """(failures, seconds left) of a key's window in one store; (0, 0) when none is open."""
    since = store.get(f"{key}:since")
    if since is None or now - since >= settings.LOGIN_LIMIT_WINDOW:
        return 0, 0.0
    return int(store.get(f"{key}:n") or 0), since + settings.LOGIN_LIMIT_WINDOW - now


def _record(key: str, now: float) -> None:
    for store in (cache, _local):
        _record_in(store, key, now)


def _record_in(store: Any, key: str, now: float) -> None:
    window = settings.LOGIN_LIMIT_WINDOW
    since = store.get(f"{key}:since")
    if since is None or now - since >= window:
        store.set_many({f"{key}:since": now, f"{key}:n": 1}, timeout=window)
        return
    try:
        store.incr(f"{key}:n")  # atomic in Redis, so parallel guesses are all counted
    except ValueError:  # expired between the two calls
        store.set_many({f"{key}:since": now, f"{key}:n": 1}, timeout=window)


def retry_after(username: str, address: str) -> int:
    """Seconds until this username may be tried from this address again; 0 when it may now."""
    now = _now()
    account_key, address_key = _keys(username, address)
    failures, account_left = _count(account_key, now)
    wait = account_left if failures >= settings.LOGIN_LIMIT_PER_ACCOUNT else 0.0
    failures, address_left = _count(address_key, now)
    if failures >= settings.LOGIN_LIMIT_PER_ADDRESS:
        wait = max(wait, address_left)
    return math.ceil(wait)


def failure_record(username: str, address: str) -> None:
    now = _now()
    for key in _keys(username, address):
        _record(key, now)


def success_record(username: str, address: str) -> None:
    account_key, _ = _keys(username, address)
    for store in (cache, _local):
        store.delete_many([f"{account_key}:since", f"{account_key}:n"])


class LoginLimitMixin:
    """For AuthenticationForm and its subclasses: refuse while limited, count failures, clear on success."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request) if self.request is not None else "unknown"
        wait = retry_after(username, address)
        if wait:
            if self.request is not None:
                self.request.login_retry_after = wait  # type: ignore[attr-defined]
            minutes = math.ceil(wait / 60)
            raise forms.ValidationError(
                f"Too many failed logins: try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                code=TOO_MANY,
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            if username and self.cleaned_data.get("password"):
                failure_record(username, address)
            raise
        success_record(username, address)
        return cleaned


class LimitedAuthenticationForm(LoginLimitMixin, AuthenticationForm):
    pass


class LimitedAdminAuthenticationForm(LoginLimitMixin, AdminAuthenticationForm):
    pass


def status_429_when_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The login form's page, with the status and Retry-After a refused attempt deserves."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        wait = getattr(request, "login_retry_after", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    return wrapped


def login_view() -> Callable[..., HttpResponse]:
    """The site's login page (accounts/login/) with the limit."""
    from django.contrib.auth.views import LoginView

    return status_429_when_limited(LoginView.as_view(authentication_form=LimitedAuthenticationForm))


def admin_site_limit(site: Any) -> None:
    """The same limit on an admin site's login page."""
    site.login_form = LimitedAdminAuthenticationForm
    site.login = status_429_when_limited(site.login)
