"""API tokens: create (the secret is returned once), revoke, and find the user of a secret."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from recommender.models import ApiToken

# Recognisable in logs and secret scanners, like GitHub's "ghp_".
TOKEN_PREFIX = "mvr_"  # noqa: S105 - a public marker, not a secret
PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
# last_used_at is written at most this often per token: a write on every request
# would double the cost of a busy program's calls for a date shown to the minute.
LAST_USED_EVERY = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 20


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the user once, never stored


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def api_token_create(*, user: AbstractBaseUser, name: str) -> NewToken:
    """A new token for the user; the secret is in the result and nowhere else."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. 'phone app'."}, code="required")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError({"name": "The name is too long (at most 100 characters)."}, code="max_length")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError({"name": f"You have {MAX_ACTIVE_TOKENS} tokens: revoke one first."}, code="too_many")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:PREFIX_SHOWN], token_hash=token_hash(secret))
    return NewToken(token=token, secret=secret)


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Revoke one of the user's tokens. False when the user has no such live token."""
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return updated > 0


def api_token_user(*, secret: str) -> AbstractBaseUser | None:
    """The active user a live token belongs to, or None (unknown, revoked, or user inactive)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_token_list_for_user(*, user: AbstractBaseUser) -> list[ApiToken]:
    return list(
        ApiToken.objects.filter(user=user).order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-id")
    )
