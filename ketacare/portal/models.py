"""The portal's records: due items anchored to treatment, the secure links that open them, the patient's contact
preferences, and per-patient schedule and per-clinic crisis-resource settings (revisions)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ketacare.core.models import ClinicOwned
from ketacare.core.revisions import SettingRevision
from ketacare.portal import choices as c

USER = settings.AUTH_USER_MODEL


class DueItem(ClinicOwned):
    """One questionnaire set a patient is asked to answer at home, in a window anchored to a session. Re-anchored
    (times updated, or cancelled) by key when the sessions change; a completed item never changes."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey("treatment.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=64)  # domain.schedule.Due.key, stable per session
    kind = models.CharField(max_length=16, choices=c.DueKind.choices)
    session_number = models.PositiveSmallIntegerField(null=True, blank=True)
    instruments = models.JSONField(default=list)
    target_at = models.DateTimeField()
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=c.DueStatus.choices, default=c.DueStatus.SCHEDULED)
    draft = models.JSONField(default=dict, blank=True)  # {instrument key: {linkId: code}} saved between screens
    response_ids = models.JSONField(default=list, blank=True)  # instruments.QuestionnaireResponse pks when done
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)  # an invitation was enqueued
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["target_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "key"], name="portal_due_item_key_unique"),
            models.CheckConstraint(name="portal_due_item_window_ordered",
                                   condition=Q(opens_at__lte=models.F("due_at"))
                                   & Q(due_at__lte=models.F("expires_at"))),
            models.CheckConstraint(name="portal_due_item_completed_has_time",
                                   condition=~Q(status="completed") | Q(completed_at__isnull=False)),
        ]
        indexes = [models.Index(fields=["clinic", "status", "opens_at"]), models.Index(fields=["clinic", "patient"])]


class SecureLink(ClinicOwned):
    """An unguessable, expiring, revocable link to one due item. Only the SHA-256 of the token is stored; the token
    itself lives in the message sent to the patient and nowhere else."""

    due_item = models.ForeignKey(DueItem, on_delete=models.PROTECT, related_name="links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    dob_failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)  # last successful date-of-birth check
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class ContactPreference(ClinicOwned):
    """How a patient wants to be reached between visits, and which channels they opted out of. Staff see it on
    the patient's page; every change is audited."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(max_length=254, blank=True)
    mobile = models.CharField(max_length=20, blank=True)
    preferred_channel = models.CharField(max_length=8, choices=c.Channel.choices, default=c.Channel.EMAIL)
    email_opt_out = models.BooleanField(default=False)
    sms_opt_out = models.BooleanField(default=False)
    language = models.CharField(max_length=5, choices=c.Language.choices, default=c.Language.ENGLISH)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")


class PatientScheduleSetting(SettingRevision):
    """A patient's overrides of the protocol's self-report schedule (domain.schedule.with_overrides), with the
    reason; the newest revision is in force."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    overrides = models.JSONField(default=dict)

    revision_scope = ("patient",)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "patient", "revision"],
                                               name="portal_schedule_setting_revision_unique")]


class PortalSetting(SettingRevision):
    """A clinic's portal policy: the crisis resources shown after a positive suicide-risk answer, and how many
    missed items in a row flag a patient to their clinician."""

    crisis_resources = models.JSONField(default=list)  # [{"label": ..., "contact": ...}]
    missed_in_a_row = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"], name="portal_setting_revision_unique")]
