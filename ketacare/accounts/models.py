"""Staff users (one clinic, one role), API tokens and failed-login records."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models

from ketacare.accounts.roles import Perm, Role, role_has
from ketacare.accounts.usernames import normalize_username
from ketacare.core.models import Clinic


class User(AbstractUser):
    """A named member of staff. Unique, never shared (HIPAA unique user identification, privacy.md §1)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="staff_has_clinic_and_role",
                condition=models.Q(is_superuser=True) | (models.Q(clinic__isnull=False) & ~models.Q(role="")),
            )
        ]

    @classmethod
    def normalize_username(cls, username: str) -> str:
        # Used by full_clean(), create_user() and createsuperuser: one spelling per account.
        return normalize_username(username)

    def has_perm_to(self, perm: Perm) -> bool:
        return self.is_active and self.clinic_id is not None and role_has(self.role, perm)


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only the SHA-256 of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True)
    revoked_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class LoginFailure(models.Model):
    """One failed sign-in, for throttling repeated guesses (`accounts/throttle.py`). The username is kept only as a
    keyed digest of its normalised form (`usernames.username_key`), never as the text typed."""

    username_key = models.CharField(max_length=64, db_index=True)
    ip = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"failed sign-in {self.username_key[:8]}… at {self.at:%Y-%m-%d %H:%M}"
