"""Safety alerts: raised by rules on clinical records, open until a nurse or prescriber acknowledges them."""

from typing import Any, ClassVar

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
    """One clinical event that needs a clinician: the rules that fired on one observation (a vitals reading, a
    questionnaire submission), listed as its `findings`.

    `source_type`/`source_id` name the record that opened it ("questionnaire_response", "vitals", "session", ...).
    While it is open, later findings with the same `group_key` (e.g. the next readings of the same session) join it:
    `code`, `severity` and `message` then show its most urgent part, the highest severity seen and the latest
    observation; `findings` keeps every part, append-only. Acknowledging closes it (who, when, the action taken and
    the seconds it took); a later finding opens a new alert.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="alerts")
    code = models.CharField(max_length=64, help_text="The rule that fired, e.g. phq9.item9_positive")
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    message = models.CharField(max_length=500)
    source_type = models.CharField(max_length=40)
    source_id = models.BigIntegerField()
    group_key = models.CharField(max_length=80, blank=True, default="",
                                 help_text="Findings with this key join this alert while it is open, e.g. "
                                           "vitals:session:12; empty: the alert stands alone")
    raised_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True, help_text="When the latest finding joined it")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(max_length=2000, blank=True)
    seconds_to_acknowledge = models.PositiveIntegerField(null=True, blank=True)

    objects: ClassVar[Any] = AlertQuerySet.as_manager()  # the plugin cannot type as_manager() over a base manager

    append_only_frozen_by = "acknowledged_at"  # open alerts change (status, acknowledgement); acknowledged ones never

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "group_key"], condition=models.Q(status="open")
                                    & ~models.Q(group_key=""), name="one_open_alert_per_group"),
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


class AlertFinding(AppendOnlyModel, ClinicOwned):
    """One rule that fired on one record, as a part of an alert: what was seen (value, when), the rule and its
    severity. Never changed: what was seen is a clinical record. One per (source record, rule)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="findings")
    code = models.CharField(max_length=64, help_text="The rule that fired, e.g. vitals.bp.high")
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    message = models.CharField(max_length=500)
    value = models.CharField(max_length=100, blank=True, help_text="What was measured, e.g. 185/110 mmHg")
    source_type = models.CharField(max_length=40)
    source_id = models.BigIntegerField()
    observed_at = models.DateTimeField(help_text="When the value was taken or the answers given")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["observed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id", "code"], name="one_finding_per_source_rule"),
        ]
        indexes = [models.Index(fields=["alert", "observed_at"], name="finding_alert_time")]

    def __str__(self) -> str:
        return f"{self.code} ({self.severity}) of alert #{self.alert_id}"


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
    round = models.PositiveSmallIntegerField(default=1, help_text="1 when raised; +1 each time a finding of higher "
                                                                  "severity joins the open alert (told again)")
    tier = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    message_ref = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "round", "tier", "id"]
        constraints = [models.UniqueConstraint(fields=["alert", "round", "tier", "recipient", "channel"],
                                               name="one_notification_per_round_tier_person_channel")]

    def __str__(self) -> str:
        return f"alert #{self.alert_id} tier {self.tier} via {self.channel}"
