"""The audit trail: append-only, one row per read or write of patient data and per security event.

HIPAA 164.312(b) audit controls (shared/domain/privacy.md §1). The application refuses updates and deletes here;
on PostgreSQL a trigger (migration 0002) makes the database refuse them too.
"""

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGGED_OUT = "logged_out"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    STAFF_CREATED = "staff_created"
    STAFF_UPDATED = "staff_updated"
    ACCESS_DENIED = "access_denied"
    PATIENT_CREATED = "patient_created"
    PATIENT_UPDATED = "patient_updated"
    PATIENT_VIEWED = "patient_viewed"
    PATIENTS_LISTED = "patients_listed"
    AUDIT_VIEWED = "audit_viewed"
    AUDIT_EXPORTED = "audit_exported"
    RESEARCH_VIEWED = "research_viewed"


class AuditImmutable(Exception):
    """Audit events are never changed or removed."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutable("audit events cannot be updated")

    def delete(self):
        raise AuditImmutable("audit events cannot be deleted")


class AuditEvent(models.Model):
    """Who (user, role, clinic) did what (action) to which record, when, from where (request id, IP)."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    clinic = models.ForeignKey("core.Clinic", null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["clinic", "-at"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditImmutable("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("audit events cannot be deleted")
