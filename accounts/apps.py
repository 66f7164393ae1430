"""The accounts app: sign-up, login limits, the session-user cache and API tokens."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import (
            auth_backend,  # noqa: F401 - drops a cached user when it is saved, in every process
            signals,  # noqa: F401 - connects the token cache hooks
        )
