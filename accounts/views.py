"""Account pages: sign-up, and the page where a user makes and revokes API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.tokens import api_token_create, api_token_list_for_user, api_token_revoke
from movies.forms import SignUpForm


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST makes one and shows its secret on this response only."""
    secret = ""
    error = ""
    status = 200
    if request.method == "POST":
        try:
            secret = api_token_create(user=request.user, name=request.POST.get("name", "")).secret
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
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
