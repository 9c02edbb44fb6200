"""Outcomes: the clinic's overrides of outcome definitions, progress letters, and the per-patient outcome summaries
the clinic report aggregates (a materialized table kept current by `services.summaries_refresh`)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from ketacare.core.append_only import AppendOnlyModel, ImmutableRecord
from ketacare.core.models import ClinicOwned
from ketacare.core.revisions import SettingRevision

USER = settings.AUTH_USER_MODEL


class LetterLocked(ImmutableRecord):
    """The letter was sent: it can no longer be changed."""

    code = "letter.locked"


SettingImmutable = ImmutableRecord  # outcome settings are revisions: a change is a new row


class OutcomeSetting(SettingRevision):
    """A clinic's override of one instrument's outcome definition. Each change is a new revision; the newest is in
    force. An empty field keeps the default (the instrument definition file, then outcomes.domain.definitions)."""

    instrument_key = models.CharField(max_length=64)
    response_pct_reduction = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Improvement from baseline that counts as response, in percent")  # fmt: skip
    response_strict = models.BooleanField(null=True, blank=True,
                                          help_text="True: strictly more than the percentage (LSAS '> 35 %')")
    remission_max_total = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True,
                                              help_text="Highest total still counted as remission (inclusive)")
    relapse_consecutive = models.PositiveSmallIntegerField(null=True, blank=True,
                                                           validators=[MinValueValidator(1), MaxValueValidator(6)])
    baseline_window_days = models.PositiveSmallIntegerField(null=True, blank=True,
                                                            validators=[MinValueValidator(1), MaxValueValidator(90)])

    revision_scope = ('instrument_key',)

    class Meta:
        ordering = ["instrument_key", "-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "instrument_key", "revision"],
                                               name="outcome_setting_revision_unique")]


class LetterStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"


class ProgressLetter(AppendOnlyModel, ClinicOwned):
    """A progress letter to the referring clinician: figures snapshotted from the chart when drafted, a summary a
    prescriber reviews and edits, then marks as sent. A sent letter never changes."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=LetterStatus.choices, default=LetterStatus.DRAFT)
    recipient_name = models.CharField("Referring clinician", max_length=200, blank=True)
    recipient_organization = models.CharField("Practice or organization", max_length=200, blank=True)
    recipient_address = models.TextField("Address", max_length=600, blank=True)
    summary = models.TextField("Summary for the referring clinician", max_length=6000, blank=True)
    snapshot = models.JSONField(help_text="Course, doses, scores and safety events as of drafting")
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()
    sent_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_via = models.CharField(max_length=60, blank=True, help_text="e.g. fax, secure e-mail, post")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "patient"])]
        constraints = [
            models.CheckConstraint(
                name="sent_letter_is_complete",
                condition=Q(status="draft", sent_at__isnull=True, sent_by__isnull=True)
                | (Q(status="sent", sent_at__isnull=False, sent_by__isnull=False) & ~Q(sent_via="")
                   & ~Q(summary="") & ~Q(recipient_name="")),
            ),
        ]

    def __str__(self) -> str:
        return f"Progress letter {self.pk}"

    @property
    def is_sent(self) -> bool:
        return self.status == LetterStatus.SENT

    append_only_frozen_by = "sent_at"  # a draft changes freely; a sent letter never
    append_only_error = LetterLocked


# --- the materialized outcome summaries ------------------------------------------------------------------------
# One row per patient for the patient's index course (the first course with a dose), one per instrument, one per
# side-effect kind / adverse-event class / alert. The cohort filters (first dose date and the cohort key: route,
# protocol, diagnosis categories) are copied onto every table so each report query reads a single table.


class CohortKey(ClinicOwned):
    """One combination of the cohort filters other than the date (route, protocol, diagnosis categories). The big
    summary tables carry its id instead of the text, so a report scans narrow rows."""

    route = models.CharField(max_length=12, blank=True)
    protocol_ref = models.CharField(max_length=64, blank=True)
    diagnoses = models.CharField(max_length=300, blank=True, help_text='Diagnosis categories as "|mdd|ptsd|"')

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "route", "protocol_ref", "diagnoses"],
                                               name="one_cohort_key")]


class CohortColumns(ClinicOwned):
    first_dose_on = models.DateField(null=True)
    cohort_key = models.ForeignKey(CohortKey, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        abstract = True


class PatientOutcome(CohortColumns):
    """The outcome summary of one patient's index course (a derived row: rebuilt, never edited by hand)."""

    route = models.CharField(max_length=12, blank=True)
    protocol_ref = models.CharField(max_length=64, blank=True)
    diagnoses = models.CharField(max_length=300, blank=True)
    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey("treatment.Course", null=True, on_delete=models.SET_NULL, related_name="+")
    first_dose_at = models.DateTimeField(null=True)
    last_dose_at = models.DateTimeField(null=True)
    doses = models.PositiveIntegerField(default=0)
    induction_doses = models.PositiveIntegerField(default=0)
    induction_completed = models.BooleanField(default=False)
    closed = models.BooleanField(default=False)
    sessions_with_side_effects = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["clinic", "first_dose_on"], name="outcome_clinic_first_dose")]


class InstrumentOutcome(CohortColumns):
    """One instrument's figures for one patient's index course (see domain.summary.InstrumentSummary)."""

    outcome = models.ForeignKey(PatientOutcome, on_delete=models.CASCADE, related_name="instruments")
    instrument_key = models.CharField(max_length=64)
    # Floats, not decimals: these are derived copies of the stored totals, summed by the report (float sums are
    # several times faster than numeric ones on PostgreSQL); every rule was applied to the exact Decimal values.
    baseline = models.FloatField(null=True)
    baseline_band = models.CharField(max_length=40, blank=True)
    endpoint = models.FloatField(null=True)
    change = models.FloatField(null=True)
    response = models.BooleanField(null=True)
    remission = models.BooleanField(null=True)
    ttr_days = models.IntegerField(null=True)
    ttr_event = models.BooleanField(null=True)
    relapse_status = models.CharField(max_length=32, blank=True)
    relapse_days = models.IntegerField(null=True)
    relapse_event = models.BooleanField(null=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "instrument_key"], name="instr_outcome_clinic_key")]
        constraints = [models.UniqueConstraint(fields=["outcome", "instrument_key"], name="one_instrument_outcome")]


class EventKind(models.TextChoices):
    SIDE_EFFECT = "side_effect", "Side effect"
    ADVERSE_EVENT = "adverse_event", "Adverse event"
    ALERT = "alert", "Alert"


class EventOutcome(CohortColumns):
    """Side effects and adverse events: one row per (patient, kind, code) with episode counts and duration sums.
    Alerts: one row per alert, `minutes` = minutes to acknowledge (None while open), `episodes` = 1 on the
    patient's first alert of that severity and 0 on the others (so a SUM counts patients without DISTINCT)."""

    outcome = models.ForeignKey(PatientOutcome, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    code = models.CharField(max_length=40)  # side-effect kind; "any" / "serious" for AEs; alert severity
    episodes = models.PositiveIntegerField(default=1)
    timed = models.PositiveIntegerField(default=0)  # episodes with a known duration
    minutes_sum = models.BigIntegerField(default=0)
    minutes_sumsq = models.BigIntegerField(default=0)
    minutes = models.IntegerField(null=True)  # alerts only

    class Meta:
        indexes = [models.Index(fields=["clinic", "kind"], name="event_outcome_clinic_kind")]


class OutcomeRefresh(ClinicOwned):
    """How far the clinic's summaries are current: high-water marks of the source tables and the definitions
    fingerprint they were computed with (a changed definition rebuilds the clinic)."""

    marks = models.JSONField(default=dict)
    definitions_key = models.CharField(max_length=64, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic"], name="one_outcome_refresh_per_clinic")]
