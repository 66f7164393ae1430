"""Failed logins are limited per account and address, and per address, in the Django cache.

The site's login form and the admin's use the form mixin below: after
LOGIN_LIMIT_PER_ACCOUNT failures for one username from one address, or
LOGIN_LIMIT_PER_ADDRESS failures from one address whatever the usernames, within
LOGIN_LIMIT_WINDOW seconds of the first of them, the form refuses every attempt
(the right password included) with a message saying when to try again, and the
view answers 429. A successful login clears its account's count; the address's
count only ends with its window (less the successful attempt itself), so one good
account cannot reset it for guesses at others. Nothing locks an account for
everyone: the owner, from their own address, can still log in while someone else
guesses.

The counts live in the cache (Redis in production, shared by every web process;
per process on the embedded defaults), and each process also keeps its own copy in
memory: the shared count decides while Redis answers, the local one when it does not.
With Redis away (the cache then ignores errors and counts nothing) logins stay
limited, per process: at worst the number of web processes times the limits, never
unlimited guessing, and never an owner locked out by an outage.

An attempt is counted before its password is checked, by one atomic increment, and refused
(and given back) when that count is over a limit: parallel guesses cannot all pass the check
before any of them is counted. A right password gives its attempt back.

The address is the connection's peer, unless that peer is one of TRUSTED_PROXIES: then it is
the right-most address in X-Forwarded-For that is not a trusted proxy. A client that reaches
gunicorn directly cannot choose its address by sending the header, so bind gunicorn to an
address only the proxy reaches (README.md's deployment table, deploy/README.md).

Password reset requests are limited the same way (reset_take, password_reset_view).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
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

from recommender import cache_keys
from recommender.cache_keys import CounterKeys

TOO_MANY = "too_many_attempts"


def _now() -> float:
    return time.time()  # one place, so tests move the clock instead of sleeping


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or, from a trusted proxy, what X-Forwarded-For says (see above)."""
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    if not _within(peer, trusted):
        return peer
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    # Each trusted proxy appended the address it saw: the first untrusted one from the right is the client.
    for address in reversed(forwarded):
        if not _within(address, trusted):
            return address
    return forwarded[0] if forwarded else peer


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


# This process's copy of the counts (see the module doc). Bounded like any LocMemCache: the oldest
# entries go first once MAX_ENTRIES is reached.
_local = LocMemCache("login-limit", {"OPTIONS": {"MAX_ENTRIES": 50_000}})


def _keys(username: str, address: str) -> tuple[CounterKeys, CounterKeys]:
    return cache_keys.login_failures_of_account(username, address), cache_keys.login_failures_of_address(address)


def _count(key: CounterKeys, now: float) -> tuple[int, float]:
    """(failures, seconds left) of a counter's window, the higher of the shared and the local count."""
    return max(_count_in(cache, key, now), _count_in(_local, key, now))


def _count_in(store: Any, key: CounterKeys, now: float) -> tuple[int, float]:
    """(failures, seconds left) of a counter's window in one store; (0, 0) when none is open."""
    since = store.get(key.since)
    if since is None or now - since >= settings.LOGIN_LIMIT_WINDOW:
        return 0, 0.0
    return int(store.get(key.n) or 0), since + settings.LOGIN_LIMIT_WINDOW - now


def _take(key: CounterKeys, now: float, window: int | None = None) -> tuple[int, float]:
    """Count one more attempt on a counter and return (attempts now, seconds left) of its window.
    The count is taken before the password is checked, in one atomic increment, so parallel
    guesses each see the attempts of all the others."""
    window = window or settings.LOGIN_LIMIT_WINDOW
    shared = _take_in(cache, key, now, window)
    local = _take_in(_local, key, now, window)
    # The shared count decides while it answers: the higher of two counts taken in different
    # orders by parallel attempts would refuse some under the limit. The local count is there
    # for when Redis is away.
    return shared if shared[0] else local


def _take_in(store: Any, key: CounterKeys, now: float, window: int) -> tuple[int, float]:
    # add is atomic (SET NX in Redis): of parallel first attempts, one opens the window.
    store.add(key.since, now, timeout=window)
    since = store.get(key.since)
    if since is None:  # the shared cache is away: the local count alone limits
        return 0, 0.0
    if now - since >= window:  # an old window whose key outlived it: start a new one
        store.set_many({key.since: now, key.n: 0}, timeout=window)
        since = now
    store.add(key.n, 0, timeout=window)
    try:
        count = store.incr(key.n)  # atomic in Redis and in LocMemCache
    except ValueError:  # expired between the two calls
        store.set_many({key.since: now, key.n: 1}, timeout=window)
        count = 1
    return int(count or 0), since + window - now


def _give_back(key: CounterKeys) -> None:
    for store in (cache, _local):
        with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
            store.decr(key.n)


def attempt_take(username: str, address: str) -> int:
    """Count this attempt; when it is over a limit, give it back and return the seconds to wait
    (the caller refuses it without checking the password), else 0."""
    now = _now()
    account_key, address_key = _keys(username, address)
    attempts, left = _take(account_key, now)
    if attempts > settings.LOGIN_LIMIT_PER_ACCOUNT:
        _give_back(account_key)
        return math.ceil(left)
    attempts, left = _take(address_key, now)
    if attempts > settings.LOGIN_LIMIT_PER_ADDRESS:
        _give_back(account_key)
        _give_back(address_key)
        return math.ceil(left)
    return 0


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


def success_record(username: str, address: str) -> None:
    """A right password: the account's count ends, and the attempt no longer counts against the address."""
    account_key, address_key = _keys(username, address)
    for store in (cache, _local):
        store.delete_many(list(account_key))
    _give_back(address_key)


class LoginLimitMixin:
    """For AuthenticationForm and its subclasses: refuse while limited, count failures, clear on success."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request) if self.request is not None else "unknown"
        counted = bool(username and self.cleaned_data.get("password"))
        wait = attempt_take(username, address) if counted else retry_after(username, address)
        if wait:
            if self.request is not None:
                self.request.login_retry_after = wait  # type: ignore[attr-defined]
            minutes = math.ceil(wait / 60)
            raise forms.ValidationError(
                f"Too many failed logins: try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                code=TOO_MANY,
            )
        # The attempt is already counted: a failure leaves it counted.
        cleaned = super().clean()  # type: ignore[misc]
        if counted:
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


def reset_take(email: str, address: str) -> int:
    """Count a password reset request; the seconds to wait when it is over a limit, else 0.

    Each request may send an email to someone else's inbox: PASSWORD_RESET_LIMIT_PER_EMAIL per
    address (whatever the address asking) and PASSWORD_RESET_LIMIT_PER_ADDRESS per asking address,
    within PASSWORD_RESET_LIMIT_WINDOW seconds.
    """
    now = _now()
    window = settings.PASSWORD_RESET_LIMIT_WINDOW
    limits = (
        (cache_keys.reset_requests_of_email(email), settings.PASSWORD_RESET_LIMIT_PER_EMAIL),
        (cache_keys.reset_requests_of_address(address), settings.PASSWORD_RESET_LIMIT_PER_ADDRESS),
    )
    wait = 0.0
    for key, limit in limits:
        count, left = _take(key, now, window)
        if count > limit:
            wait = max(wait, left)
    return math.ceil(wait)


def password_reset_view() -> Callable[..., HttpResponse]:
    """The password reset page (accounts/password_reset/) with a limit on requests (see reset_take)."""
    from django.contrib.auth.views import PasswordResetView

    class LimitedPasswordResetView(PasswordResetView):
        def form_valid(self, form: Any) -> HttpResponse:
            wait = reset_take(form.cleaned_data["email"], client_address(self.request))
            if wait:
                self.request.login_retry_after = wait  # type: ignore[attr-defined]
                minutes = math.ceil(wait / 60)
                unit = "minute" if minutes == 1 else "minutes"
                message = f"Too many password reset requests: try again in {minutes} {unit}."
                form.add_error("email", forms.ValidationError(message, code=TOO_MANY))
                return self.form_invalid(form)
            return super().form_valid(form)

    return status_429_when_limited(LimitedPasswordResetView.as_view())


def admin_site_limit(site: Any) -> None:
    """The same limit on an admin site's login page."""
    site.login_form = LimitedAdminAuthenticationForm
    site.login = status_429_when_limited(site.login)
