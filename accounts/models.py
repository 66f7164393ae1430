"""The API token: a secret a user gives a program so it can call the JSON API as them."""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A secret a user gives a program so it can call the JSON API as them.

    Only a SHA-256 of the secret is stored: the secret is shown once, at creation,
    and a leaked database does not leak working tokens. The secret is 256 random
    bits, so an unsalted fast hash is enough (nothing to brute-force).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'phone app'.")
    # The first characters of the secret, so a user can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
