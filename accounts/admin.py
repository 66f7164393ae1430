"""API tokens in admin: who has which, when each was last used, and a revoke action."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiToken
from accounts.tokens import api_tokens_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only but for revoking. The secret is never stored and its hash is never shown:
    the prefix is what the user sees on their own page, enough to tell tokens apart."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    fields = readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users make their own tokens: only they may ever see a secret

    # Deleting stays allowed (deleting a user deletes their tokens): a deleted token is refused at
    # once like a revoked one (accounts/signals.py marks it in the shared cache).

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = api_tokens_revoke(tokens=queryset)
        if count:
            self.message_user(request, f"Revoked {count} token(s): programs using them are refused from now on.")
        else:
            self.message_user(request, "The selected tokens were already revoked.", messages.WARNING)
