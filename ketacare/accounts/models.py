"""Staff users (one clinic, one role), API tokens, failed-login records, the second factor's recovery codes and the
clinic's MFA setting."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac

from ketacare.accounts.roles import Perm, Role, role_has
from ketacare.accounts.usernames import normalize_username
from ketacare.core.models import Clinic
from ketacare.core.revisions import SettingRevision


class User(AbstractUser):
    """A named member of staff. Unique, never shared (HIPAA unique user identification, privacy.md §1)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    # Part of every session's auth hash: raising it (deactivation, reactivation, a second-factor reset) ends every
    # browser session the user had, checked by Django's AuthenticationMiddleware on each request.
    session_epoch = models.PositiveIntegerField(default=0)

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

    def _get_session_auth_hash(self, secret=None):
        # Django's hash of the password, with the session epoch in it (the fallback keys use this too).
        return salted_hmac("ketacare.accounts.User.session_auth_hash", f"{self.password}\x00{self.session_epoch}",
                           secret=secret, algorithm="sha256").hexdigest()


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class ApiToken(models.Model):
    """A bearer token for the JSON API and FHIR. Only the SHA-256 of the token is stored. It expires, and a "read"
    token is refused by every route that writes."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True)
    revoked_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField()
    scope = models.CharField(max_length=12, choices=TokenScope.choices, default=TokenScope.READ_WRITE)

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


class RecoveryCode(models.Model):
    """One single-use recovery code for the second factor (for a lost phone). Only a keyed digest is stored; the codes
    are shown once, when they are made."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id} ({'used' if self.used_at else 'unused'})"


class MfaSetting(SettingRevision):
    """Whether a clinic requires the second factor of every member of staff (clinic admins and prescribers always need
    it: accounts/domain/mfa.py). A revision with a reason, like every per-clinic setting."""

    required_for_all = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"], name="mfa_setting_revision_unique")]

    def __str__(self) -> str:
        return f"MFA setting r{self.revision} of clinic {self.clinic_id}"
