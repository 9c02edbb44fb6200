"""Safety alerts: raised by rules on clinical records, open until a nurse or prescriber acknowledges them."""

from django.conf import settings
from django.db import models

from ketacare.core.append_only import AppendOnlyModel, AppendOnlyQuerySet, ImmutableRecord
from ketacare.core.models import ClinicOwned
from ketacare.core.revisions import SettingRevision
from ketacare.safety.choices import AlertSeverity, AlertStatus

AlertLocked = ImmutableRecord  # an acknowledged alert is a signed record (the one append-only error)


class AlertQuerySet(AppendOnlyQuerySet):
    def open(self) -> "AlertQuerySet":
        return self.filter(status=AlertStatus.OPEN)


class Alert(AppendOnlyModel, ClinicOwned):
    """One rule that fired on one source record (e.g. PHQ-9 item 9 >= 1 on a questionnaire response).

    `source_type`/`source_id` name the record that raised it ("questionnaire_response", "vitals", "session", ...);
    one alert per (source, rule code). Acknowledging records who, when, the action taken and the seconds it took.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="alerts")
    code = models.CharField(max_length=64, help_text="The rule that fired, e.g. phq9.item9_positive")
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    message = models.CharField(max_length=500)
    source_type = models.CharField(max_length=40)
    source_id = models.BigIntegerField()
    raised_at = models.DateTimeField()
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(max_length=2000, blank=True)
    seconds_to_acknowledge = models.PositiveIntegerField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    append_only_frozen_by = "acknowledged_at"  # open alerts change (status, acknowledgement); acknowledged ones never

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id", "code"], name="one_alert_per_source_rule"),
            models.CheckConstraint(
                name="acknowledged_alert_is_complete",
                condition=models.Q(status="open", acknowledged_at__isnull=True, acknowledged_by__isnull=True,
                                   seconds_to_acknowledge__isnull=True)
                | (models.Q(status="acknowledged", acknowledged_at__isnull=False, acknowledged_by__isnull=False,
                            seconds_to_acknowledge__isnull=False) & ~models.Q(action_taken="")),
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "status", "severity"], name="alert_clinic_status_sev"),
            models.Index(fields=["patient", "status"], name="alert_patient_status"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.severity})"

    @property
    def is_open(self) -> bool:
        return self.status == AlertStatus.OPEN

    @property
    def severity_rank(self) -> int:
        return [s.value for s in AlertSeverity].index(self.severity)

    @property
    def time_to_acknowledge(self) -> str:
        """e.g. "45 s", "12 min", "3 h 05 min", "2 d 4 h"; "" while open."""
        seconds = self.seconds_to_acknowledge
        if seconds is None:
            return ""
        if seconds < 60:
            return f"{seconds} s"
        minutes, hours = seconds // 60, seconds // 3600
        if hours == 0:
            return f"{minutes} min"
        if hours < 24:
            return f"{hours} h {minutes % 60:02d} min"
        return f"{hours // 24} d {hours % 24} h"


class StaffContact(ClinicOwned):
    """A staff member's mobile number for urgent SMS (the user row keeps the email address)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="safety_contact")
    mobile_e164 = models.CharField(max_length=16, blank=True, help_text="International form, e.g. +15551234567")
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"contact of user #{self.user_id}"


class OnCallShift(ClinicOwned):
    """Who is on call from `starts_at` to `ends_at`, with an optional backup (the second clinician)."""

    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    backup = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [models.CheckConstraint(name="shift_ends_after_start",
                                              condition=models.Q(ends_at__gt=models.F("starts_at")))]
        indexes = [models.Index(fields=["clinic", "starts_at", "ends_at"], name="shift_clinic_time")]

    def __str__(self) -> str:
        return f"on call #{self.clinician_id} {self.starts_at:%Y-%m-%d %H:%M}"


class OnCallSetting(SettingRevision):
    """A clinic's on-call policy: the fallback clinician (told when nobody is on call, or second) and the minutes
    an urgent alert may stay unacknowledged before it escalates (safety/domain/oncall.py, instruments.md §1.3)."""

    fallback_clinician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    escalation_delay_minutes = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"], name="oncall_setting_one_revision")]


class AlertNotification(AppendOnlyModel, ClinicOwned):
    """One person told about an urgent alert on one channel, at one tier (1 on call, 2 second clinician, 3 clinic
    admin). `message_ref` is the outbox message (messaging.services.enqueue); the row is never changed."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="notifications")
    tier = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    message_ref = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "tier", "id"]
        constraints = [models.UniqueConstraint(fields=["alert", "tier", "recipient", "channel"],
                                               name="one_notification_per_tier_person_channel")]

    def __str__(self) -> str:
        return f"alert #{self.alert_id} tier {self.tier} via {self.channel}"
