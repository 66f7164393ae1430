"""Account pages: sign-up, and the page where a user makes and revokes API tokens."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import ApiToken
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
