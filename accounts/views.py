"""Account pages: sign-up, the account page (counts, ratings download, deleting the account), API tokens."""

from __future__ import annotations

import math
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.login_limit import attempt_take, client_address, success_record
from accounts.models import ApiToken
from accounts.own_data import account_counts, account_delete, ratings_csv
from accounts.tokens import api_token_create, api_token_list_for_user, api_token_revoke
from movies.forms import SignUpForm


class TokenForm(forms.Form):
    # A forms.CharField refuses NUL and other characters no database column can hold.
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        error_messages={"required": "Give the token a name, e.g. 'phone app'."},
    )


# never_cache: the answer to a POST shows the new secret; no browser or proxy may keep a copy.
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST makes one and shows its secret on this response only."""
    secret = ""
    error = ""
    status = 200
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                secret = api_token_create(user=request.user, name=form.cleaned_data["name"]).secret
            except ValidationError as exc:
                form.add_error(None, exc)
        if form.errors:
            error = " ".join(m for ms in form.errors.values() for m in ms)
            status = 422
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": api_token_list_for_user(user=request.user), "secret": secret, "error": error},
        status=status,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if api_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "The token is revoked: programs using it are refused from now on.")
    else:
        messages.error(request, "No such token of yours, or it was already revoked.")
    return redirect("api_tokens")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        messages.success(request, f"Welcome, {user.get_username()}! Rate a few movies to get your picks.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


# never_cache here and below: pages with a person's address and data stay out of shared caches.
@never_cache
@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    """The person's account: what they have here, the download, the password, tokens, deletion."""
    return render(request, "accounts/me.html", {"counts": account_counts(user=request.user)})


@never_cache
@login_required
@require_GET
def ratings_download(request: HttpRequest) -> StreamingHttpResponse:
    """The person's ratings as MovieLens' ratings.csv, streamed (accounts/own_data.py)."""
    response = StreamingHttpResponse(ratings_csv(user=request.user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="ratings.csv"'
    return response


class PasswordCheckedForm(forms.Form):
    """A form that changes something of the account only with the person's password.

    A wrong password counts as a failed login (accounts/login_limit.py): a borrowed session
    cannot guess its way to deleting the account or to taking it over through its e-mail address.
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def checked(self, request: HttpRequest) -> tuple[bool, int]:
        """(whether the form is valid and the password right, the seconds to wait when refused)."""
        if not self.is_valid():
            return False, 0
        user, address = request.user, client_address(request)
        wait = attempt_take(user.get_username(), address)
        if wait:
            minutes = math.ceil(wait / 60)
            unit = "minute" if minutes == 1 else "minutes"
            self.add_error("password", f"Too many wrong passwords: try again in {minutes} {unit}.")
            return False, wait
        if not user.check_password(self.cleaned_data["password"]):
            self.add_error("password", "That is not your password.")
            return False, 0
        success_record(user.get_username(), address)
        return True, 0


def _refused(response: HttpResponse, wait: int) -> HttpResponse:
    """A POST the form refused: 429 with Retry-After when over the limit, else 422."""
    response.status_code = 429 if wait else 422
    if wait:
        response["Retry-After"] = str(wait)
    return response


class EmailForm(PasswordCheckedForm):
    email = forms.EmailField(
        required=False,
        label="E-mail address",
        help_text="Where a password reset link goes. Leave empty to have none.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["email", "password"]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_email(request: HttpRequest) -> HttpResponse:
    """GET shows the address; POST with the password sets it (or takes it away)."""
    user = cast(User, request.user)  # login_required
    form = EmailForm(request.POST or None, initial={"email": user.email})
    if request.method == "POST":
        ok, wait = form.checked(request)
        if ok:
            user.email = form.cleaned_data["email"]
            user.save(update_fields=["email"])
            messages.success(
                request, "Your e-mail address is saved." if user.email else "Your e-mail address is removed."
            )
            return redirect("account")
        return _refused(render(request, "accounts/email.html", {"form": form}), wait)
    return render(request, "accounts/email.html", {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_delete_confirm(request: HttpRequest) -> HttpResponse:
    """GET asks for the password; POST with the right one deletes the account and logs out."""
    user = request.user
    form = PasswordCheckedForm(request.POST or None)
    if request.method == "POST":
        ok, wait = form.checked(request)
        if ok:
            account_delete(user=user)
            logout(request)
            messages.success(request, "Your account is deleted, with your ratings and everything else of yours.")
            return redirect("home")
    context = {"form": form, "counts": account_counts(user=user)}
    response = render(request, "accounts/delete.html", context)
    return _refused(response, wait) if request.method == "POST" else response
