"""Intake records, eligibility decisions and consent.

The intake is the editable working record of the assessment (partial progress is kept; every change is audited
with its previous value). An eligibility decision snapshots the facts it evaluated, so later intake edits never
change a signed decision. Signed decisions and captured consents are immutable (only a one-time co-signature or
withdrawal may be added); published consent documents never change.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from ketacare.core.append_only import AppendOnlyModel, ImmutableRecord
from ketacare.core.models import ClinicOwned, field_label
from ketacare.core.revisions import SettingRevision
from ketacare.screening.domain.resistance import Response, TrialKind
from ketacare.screening.domain.rules import Route, Status
from ketacare.screening.validators import validate_not_future_date, validate_not_future_moment, validate_planned_date


class RouteChoice(models.TextChoices):
    IV_KETAMINE = Route.IV_KETAMINE.value, "IV ketamine"
    ESKETAMINE = Route.ESKETAMINE.value, "Esketamine nasal spray"


class StatusChoice(models.TextChoices):
    ELIGIBLE = Status.ELIGIBLE.value, "Eligible"
    ELIGIBLE_WITH_CAUTIONS = Status.ELIGIBLE_WITH_CAUTIONS.value, "Eligible with cautions"
    INCOMPLETE = Status.INCOMPLETE.value, "Incomplete"
    NOT_ELIGIBLE = Status.NOT_ELIGIBLE.value, "Not eligible"


class WeightUnit(models.TextChoices):
    KG = "kg", "kg"
    LB = "lb", "lb"


class HeightUnit(models.TextChoices):
    CM = "cm", "cm"
    IN = "in", "in"


class TrialKindChoice(models.TextChoices):
    ORAL_ANTIDEPRESSANT = TrialKind.ORAL_ANTIDEPRESSANT.value, "Oral antidepressant"
    OTHER_MEDICATION = TrialKind.OTHER_MEDICATION.value, "Other medication (e.g. augmentation)"
    PSYCHOTHERAPY = TrialKind.PSYCHOTHERAPY.value, "Psychotherapy"
    OTHER = TrialKind.OTHER.value, "Other (e.g. ECT, TMS)"


class ResponseChoice(models.TextChoices):
    NONE = Response.NONE.value, "No response"
    PARTIAL = Response.PARTIAL.value, "Partial response"
    RESPONSE = Response.RESPONSE.value, "Response"
    REMISSION = Response.REMISSION.value, "Remission"


class Outcome(models.TextChoices):
    APPROVE = "approve", "Approved"
    DECLINE = "decline", "Declined"
    OVERRIDE = "override", "Exclusion overridden"


RecordLocked = ImmutableRecord  # a signed or published record was about to change (the one append-only error)


def _tri(label: str) -> models.BooleanField:
    """A yes / no / not-yet-asked fact: None is never read as "absent"."""
    return models.BooleanField(label, null=True, blank=True)


class Intake(ClinicOwned):
    """A patient's intake assessment: the facts eligibility is evaluated on. Editable; changes are audited."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="intake")

    referring_clinician = models.CharField(max_length=200, blank=True)
    referring_organization = models.CharField("Practice or organization", max_length=200, blank=True)
    referral_reason = models.TextField("Reason for referral", blank=True)
    referral_received_on = models.DateField("Referral received on", null=True, blank=True,
                                            validators=[validate_not_future_date])

    psychosis_history = _tri("Psychosis, ever (including now)")
    psychosis_current = _tri("Psychosis now")
    mania_or_bipolar_history = _tri("Mania or bipolar disorder, ever")
    mania_current = _tri("Mania now")
    substance_use_disorder_history = _tri("Substance use disorder, ever (incl. alcohol; not nicotine)")
    substance_use_disorder_current = _tri("Substance use disorder, intoxication or withdrawal now")
    ketamine_misuse_history = _tri("Past ketamine or PCP misuse (beyond rare recreational use)")
    prior_suicide_attempt = _tri("Prior suicide attempt")
    suicidal_intent_current = _tri("Active suicidal intent now (clinician-assessed)")
    lacks_capacity_to_consent = _tri("Lacks capacity to consent")
    psychiatric_notes = models.TextField("Psychiatric history notes", blank=True)

    hypertension = _tri("Hypertension")
    hypertension_uncontrolled = _tri("Hypertension uncontrolled now")
    aneurysmal_vascular_disease = _tri("Aneurysmal vascular disease (aorta, intracranial, peripheral arteries)")
    arteriovenous_malformation = _tri("Arteriovenous malformation")
    intracerebral_hemorrhage_history = _tri("Intracerebral haemorrhage, ever")
    cardiovascular_disease = _tri("Cardiovascular disease (ischaemic heart disease, arrhythmia, heart failure)")
    cerebrovascular_disease = _tri("Cerebrovascular disease (stroke, TIA)")
    raised_intracranial_pressure = _tri("Raised intracranial pressure")
    hepatic_disease = _tri("Hepatic disease")
    interstitial_cystitis = _tri("Interstitial or ulcerative cystitis")
    pregnant = _tri("Pregnant")
    breastfeeding = _tri("Breastfeeding")
    medical_notes = models.TextField("Medical history notes", blank=True)

    hypersensitivity_ketamine = _tri("Hypersensitivity to ketamine, esketamine or an excipient")
    allergies = models.TextField("Other allergies and reactions", blank=True)

    # A list step is "complete" once the clinician confirms nothing else is to be added; until then the rules
    # treat the list as unknown (never as "none").
    diagnoses_complete = models.BooleanField(default=False)
    medications_complete = models.BooleanField(default=False)
    trials_complete = models.BooleanField(default=False)

    # Stored in SI, exactly (1 lb = 0.45359237 kg, 1 in = 2.54 cm); the entered value and unit are kept too.
    weight_kg = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    weight_entered = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    weight_unit = models.CharField(max_length=2, choices=WeightUnit.choices, blank=True)
    height_cm = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    height_entered = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    height_unit = models.CharField(max_length=2, choices=HeightUnit.choices, blank=True)
    measured_on = models.DateField("Measured on", null=True, blank=True, validators=[validate_not_future_date])

    systolic_mmhg = models.PositiveSmallIntegerField("Systolic (mmHg)", null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField("Diastolic (mmHg)", null=True, blank=True)
    heart_rate_bpm = models.PositiveSmallIntegerField("Heart rate (bpm)", null=True, blank=True)
    spo2_pct = models.PositiveSmallIntegerField("SpO2 (%)", null=True, blank=True,
                                                validators=[MinValueValidator(50), MaxValueValidator(100)])
    vitals_taken_at = models.DateTimeField("Vitals taken at", null=True, blank=True,
                                           validators=[validate_not_future_moment])

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(name="intake_weight_has_unit",
                                   condition=Q(weight_kg__isnull=True) | ~Q(weight_unit="")),
            models.CheckConstraint(name="intake_height_has_unit",
                                   condition=Q(height_cm__isnull=True) | ~Q(height_unit="")),
        ]

    def __str__(self) -> str:
        return f"Intake {self.pk}"


class Diagnosis(ClinicOwned):
    """One ICD-10-CM diagnosis on the intake (codes from the curated table in domain/icd10.py)."""

    intake = models.ForeignKey(Intake, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.CharField("ICD-10-CM code", max_length=8)
    note = models.CharField(max_length=200, blank=True)
    # The event date, needed for heart attack, stroke/TIA, unstable angina, acute heart failure and significant
    # arrhythmia codes (domain/icd10.py::CV_EVENT_CATEGORIES: recent events are a stop, older ones a caution).
    onset_on = models.DateField("Onset / event date", null=True, blank=True, validators=[validate_not_future_date])

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["intake", "code"], name="diagnosis_once_per_intake")]

    def __str__(self) -> str:
        return self.code


class Medication(ClinicOwned):
    """A current medication, flagged by the classes the eligibility rules look at."""

    intake = models.ForeignKey(Intake, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=120)
    dose = models.CharField("Dose and frequency", max_length=120, blank=True)
    is_benzodiazepine = models.BooleanField("Benzodiazepine", default=False)
    lorazepam_eq_mg_per_day = models.DecimalField(
        "Lorazepam-equivalent (mg/day)", max_digits=6, decimal_places=2, null=True, blank=True)
    is_stimulant = models.BooleanField("Psychostimulant", default=False)
    is_maoi = models.BooleanField("MAOI", default=False)
    is_lamotrigine = models.BooleanField("Lamotrigine", default=False)
    is_opioid = models.BooleanField("Opioid", default=False)
    is_other_sedative = models.BooleanField("Other sedative / CNS depressant", default=False)
    is_oral_antidepressant = models.BooleanField("Oral antidepressant", default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(name="lorazepam_eq_only_for_benzodiazepines",
                                   condition=Q(lorazepam_eq_mg_per_day__isnull=True) | Q(is_benzodiazepine=True)),
        ]

    FLAGS = ("is_benzodiazepine", "is_stimulant", "is_maoi", "is_lamotrigine", "is_opioid", "is_other_sedative",
             "is_oral_antidepressant")

    def flag_labels(self) -> list[str]:
        return [field_label(self, f) for f in self.FLAGS if getattr(self, f)]


class PriorTrial(ClinicOwned):
    """A prior treatment trial (drug or therapy) with its adequacy and response, for the resistance summary."""

    intake = models.ForeignKey(Intake, on_delete=models.CASCADE, related_name="trials")
    name = models.CharField("Drug or therapy", max_length=120)
    kind = models.CharField(max_length=20, choices=TrialKindChoice.choices)
    dose_mg_per_day = models.DecimalField("Dose (mg/day)", max_digits=8, decimal_places=2, null=True, blank=True)
    duration_weeks = models.PositiveSmallIntegerField("Duration (weeks)", null=True, blank=True)
    adequate = _tri("Adequate dose and duration")
    response = models.CharField(max_length=10, choices=ResponseChoice.choices, blank=True)
    current_episode = _tri("In the current episode")

    class Meta:
        ordering = ["id"]


class EligibilityDecision(AppendOnlyModel, ClinicOwned):
    """An evaluation of one route (facts and result snapshotted) and the prescriber's signed decision on it.

    Re-evaluation makes a new row pointing at the previous one. Once signed, only a co-signature of an override
    may be added (once); nothing else changes.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    route = models.CharField(max_length=16, choices=RouteChoice.choices)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="next")

    evaluated_at = models.DateTimeField()
    evaluated_on = models.DateField()  # the date the rules used (age)
    evaluated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ruleset_version = models.CharField(max_length=20)
    status = models.CharField(max_length=24, choices=StatusChoice.choices)
    findings = models.JSONField(default=list, blank=True)
    missing_facts = models.JSONField(default=list, blank=True)
    resistance = models.JSONField(null=True, blank=True)
    facts = models.JSONField()
    facts_digest = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    sources = models.JSONField(default=dict, blank=True)  # e.g. questionnaire response ids behind the facts

    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    justification = models.TextField(blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)
    cosigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    cosigned_at = models.DateTimeField(null=True, blank=True)

    # Free until signed; then only a co-signature of an override may be added, once.
    append_only_frozen_by = "signed_at"
    append_only_mutable_once = ("cosigned_by", "cosigned_at")

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["patient", "route", "-evaluated_at"])]
        constraints = [
            models.CheckConstraint(
                name="decision_signed_iff_outcome",
                condition=(Q(signed_at__isnull=True, signed_by__isnull=True, outcome="")
                           | (Q(signed_at__isnull=False, signed_by__isnull=False) & ~Q(outcome="")))),
            models.CheckConstraint(
                name="decision_cosign_only_overrides",
                condition=Q(cosigned_at__isnull=True, cosigned_by__isnull=True)
                | Q(cosigned_at__isnull=False, cosigned_by__isnull=False, outcome="override")),
            models.CheckConstraint(
                name="decision_cosigner_differs",
                condition=Q(cosigned_by__isnull=True) | ~Q(cosigned_by=F("signed_by"))),
        ]

    def __str__(self) -> str:
        return f"Eligibility decision {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_effective_approval(self) -> bool:
        """Approved, or an override that a second prescriber has co-signed."""
        if self.outcome == Outcome.APPROVE:
            return True
        return self.outcome == Outcome.OVERRIDE and self.cosigned_at is not None

    @property
    def awaiting_cosign(self) -> bool:
        return self.outcome == Outcome.OVERRIDE and self.cosigned_at is None

    @property
    def state_label(self) -> str:
        if not self.is_signed:
            return "Awaiting prescriber decision"
        if self.awaiting_cosign:
            return "Override awaiting co-signature"
        return self.get_outcome_display()

    def findings_by_verdict(self, verdict: str) -> list[dict]:
        return [f for f in self.findings if f["verdict"] == verdict]



class EligibilitySetting(SettingRevision):
    """A clinic's screening thresholds: its overrides of the cited defaults of `domain.rules.EligibilityParams`.
    Each change is a new revision; the newest is in force. Revisions never change."""

    overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"],
                                               name="eligibility_setting_revision_unique")]

    def __str__(self) -> str:
        return f"Eligibility thresholds revision {self.revision}"



class ConsentDocument(AppendOnlyModel, ClinicOwned):
    """A version of a route's consent text, written by the clinic admin. Published versions never change."""

    route = models.CharField(max_length=16, choices=RouteChoice.choices)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_on = models.DateField("Effective from", validators=[validate_planned_date])
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    append_only_frozen_by = "published_at"  # a draft is edited; a published version never changes

    class Meta:
        ordering = ["route", "-effective_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "route", "version"], name="consent_version_once_per_route"),
        ]

    def __str__(self) -> str:
        return f"{self.get_route_display()} consent v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None



class PatientConsent(AppendOnlyModel, ClinicOwned):
    """The patient's consent to one route under one document version, witnessed by staff; may be withdrawn."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="consents")
    route = models.CharField(max_length=16, choices=RouteChoice.choices)
    typed_name = models.CharField("Patient's typed full name", max_length=200)
    signed_at = models.DateTimeField()
    witness = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    withdrawal_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                               on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["patient", "route", "-signed_at"])]
        constraints = [
            models.CheckConstraint(
                name="consent_withdrawal_complete",
                condition=Q(withdrawn_at__isnull=True, withdrawal_recorded_by__isnull=True)
                | Q(withdrawn_at__isnull=False, withdrawal_recorded_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Consent {self.pk}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    # A captured consent never changes; only a withdrawal may be added, once.
    append_only_mutable_once = ("withdrawn_at", "withdrawal_reason", "withdrawal_recorded_by")
