"""Keep remembered API token lookups (accounts/tokens.py) in step with users and tokens.

A lookup is remembered for a minute; without these hooks a deactivated user's token would work
for that minute, and a deleted user's token would reach a view whose user no longer exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from accounts.models import ApiToken
from accounts.tokens import api_tokens_forget
from recommender.credentials import credential_generation_bump


@receiver(post_save, sender=get_user_model(), dispatch_uid="recommender.tokens.user_saved")
def _forget_tokens_of_inactive_user(sender: type, instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        hashes = list(ApiToken.objects.filter(user_id=instance.pk).values_list("token_hash", flat=True))
        # Not marked revoked: a reactivated user's tokens work again (the database lookup checks is_active).
        api_tokens_forget(token_hashes=hashes, revoked=False)


@receiver(pre_delete, sender=ApiToken, dispatch_uid="recommender.tokens.token_deleted")
def _forget_deleted_token(sender: type, instance: ApiToken, **kwargs: Any) -> None:
    # Also runs for each token when its user is deleted (the cascade sends it per row).
    credential_generation_bump()
    api_tokens_forget(token_hashes=[instance.token_hash], revoked=True)
