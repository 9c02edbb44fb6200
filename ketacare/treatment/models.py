"""Treatment courses, supervised dosing sessions and everything recorded during one, plus REMS paperwork.

Rules live in `domain/`; these models hold what was recorded. Signed sessions and submitted REMS forms never change:
corrections are addenda. Orders, administrations, readings and transitions are append-only rows.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from ketacare.core.append_only import AppendOnlyModel, ImmutableRecord
from ketacare.core.models import ClinicOwned
from ketacare.core.revisions import SettingRevision
from ketacare.treatment import choices as c

USER = settings.AUTH_USER_MODEL


class SessionLocked(ImmutableRecord):
    """The session note is signed: the session can no longer be changed (add an addendum instead)."""

    code = "session.locked"


RecordImmutable = ImmutableRecord  # the one append-only error (ketacare/core/append_only.py)


def _range(low, high):
    return [MinValueValidator(low), MaxValueValidator(high)]


class ProtocolSetting(SettingRevision):
    """A clinic's values for one shipped protocol. Each change is a new revision; the newest is in force."""

    protocol_ref = models.CharField(max_length=64)
    overrides = models.JSONField(default=dict, blank=True)

    revision_scope = ('protocol_ref',)

    class Meta:
        ordering = ["protocol_ref", "-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "protocol_ref", "revision"],
                                               name="protocol_setting_revision_unique")]


class RemsSetting(SettingRevision):
    """The clinic's REMS configuration flags and setting details, versioned like protocol settings (§8.4)."""

    pmf_required = models.BooleanField(default=True)
    patient_enrollment_required = models.BooleanField(default=True)
    pmf_due_days = models.PositiveSmallIntegerField(default=7, validators=_range(1, 60))
    pmf_due_soon_after_days = models.PositiveSmallIntegerField(default=5, validators=_range(0, 60))
    setting_type = models.CharField(max_length=12, choices=c.SettingType.choices, default=c.SettingType.OUTPATIENT)
    pmf_template = models.CharField(max_length=16, default="2021-11")
    setting_name = models.CharField(max_length=120, blank=True)
    address_1 = models.CharField(max_length=120, blank=True)
    address_2 = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    telephone = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"], name="rems_setting_revision_unique")]


class Course(ClinicOwned):
    """A planned series of sessions for one patient on one protocol, started once the route is cleared."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_courses")
    protocol_ref = models.CharField(max_length=64)
    protocol_setting = models.ForeignKey(ProtocolSetting, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    route = models.CharField(max_length=12, choices=c.Route.choices)
    status = models.CharField(max_length=12, choices=c.CourseStatus.choices, default=c.CourseStatus.ACTIVE)
    start_on = models.DateField()
    open_ended_cycles = models.PositiveSmallIntegerField(default=0)
    open_ended_cycle_days = models.PositiveSmallIntegerField(null=True, blank=True)
    clearance = models.JSONField(default=dict, blank=True)  # what route_clearance said when it started
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-start_on", "-id"]
        indexes = [models.Index(fields=["clinic", "patient"])]


class DosingSession(AppendOnlyModel, ClinicOwned):
    """One supervised session of a course, moved through the domain state machine by `session_transition`."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()
    phase = models.CharField(max_length=40)
    planned_on = models.DateField()
    state = models.CharField(max_length=24, choices=c.SessionState.choices, default=c.SessionState.SCHEDULED)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    room = models.CharField(max_length=20, blank=True)
    # The clinic's protocol revision in force when the patient checked in (None = shipped defaults).
    protocol_setting = models.ForeignKey(ProtocolSetting, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    protocol_pinned = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    first_dose_at = models.DateTimeField(null=True, blank=True)  # first esketamine device / infusion start
    dose_completed_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.TextField(blank=True)  # cancelled / held / escalated

    # Pre-dose assessment.
    actual_weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                           validators=_range(25, 350))
    height_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True,
                                    validators=_range(120, 230))
    ibw_sex = models.CharField(max_length=8, choices=c.IbwSex.choices, blank=True)
    weight_basis = models.CharField(max_length=10, choices=c.WeightBasis.choices, blank=True)
    dosing_weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    dosing_weight_working = models.JSONField(default=list, blank=True)
    pregnancy_check = models.CharField(max_length=16, choices=c.PregnancyCheck.choices, blank=True)
    escort_confirmed = models.BooleanField(default=False)
    escort_name = models.CharField(max_length=120, blank=True)
    elevated_bp_decision = models.TextField(blank=True)
    elevated_bp_decision_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                                related_name="+")
    benzodiazepines = models.BooleanField(null=True, blank=True)
    non_benzodiazepine_sedative_hypnotics = models.BooleanField(null=True, blank=True)
    psychostimulants = models.BooleanField(null=True, blank=True)
    maois = models.BooleanField(null=True, blank=True)
    opioids = models.BooleanField(null=True, blank=True)
    predose_recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    predose_recorded_at = models.DateTimeField(null=True, blank=True)

    # Discharge.
    discharge_criteria = models.JSONField(default=list, blank=True)  # keys of the protocol's criteria met
    discharge_recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                              related_name="+")
    discharge_recorded_at = models.DateTimeField(null=True, blank=True)
    ready_to_leave_minutes = models.PositiveSmallIntegerField(null=True, blank=True, validators=_range(0, 720))
    discharged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    # Session note: signed and locked after the session ends; corrections are addenda.
    note = models.TextField(blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    vitals_count = models.PositiveIntegerField(default=0)
    last_vitals_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["planned_on", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="session_number_unique_in_course"),
            models.CheckConstraint(name="signed_session_has_signer",
                                   condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False)),
        ]
        indexes = [models.Index(fields=["clinic", "planned_on"]), models.Index(fields=["clinic", "state"])]

    # A session changes freely until its note is signed, then never (addenda instead); it is never deleted (cancel
    # it). The check reads the stored row, so a stale in-memory copy cannot slip by.
    append_only_frozen_by = "signed_at"
    append_only_error = SessionLocked

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class SessionTransition(AppendOnlyModel, ClinicOwned):
    """One state change of a session: from, to, when, by whom, and why."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="transitions")
    from_state = models.CharField(max_length=24, choices=c.SessionState.choices)
    to_state = models.CharField(max_length=24, choices=c.SessionState.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class DoseOrder(AppendOnlyModel, ClinicOwned):
    """A prescriber's order for the session's dose, with the calculation shown line by line.

    Replacing an order (before any administration) adds a new row that `supersedes` the old one.
    """

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="dose_orders")
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    ordered_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    ordered_at = models.DateTimeField()
    dose_mg = models.DecimalField(max_digits=7, decimal_places=1, validators=[MinValueValidator(0)])
    # IV
    mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    weight_basis = models.CharField(max_length=10, choices=c.WeightBasis.choices, blank=True)
    dosing_weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    concentration_mg_per_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    infusion_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    volume_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    rate_mg_per_min = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    rate_ml_per_h = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    # Esketamine
    device_count = models.PositiveSmallIntegerField(null=True, blank=True)
    working = models.JSONField(default=list, blank=True)  # lines of the calculation
    issues = models.JSONField(default=list, blank=True)  # [{code, message, overridable}] outside the protocol
    override_reason = models.TextField(blank=True)  # the prescriber's reason for giving a dose outside protocol

    class Meta:
        ordering = ["ordered_at", "id"]
        constraints = [models.CheckConstraint(name="dose_order_positive", condition=Q(dose_mg__gt=0))]


class DoseAdministration(AppendOnlyModel, ClinicOwned):
    """A nurse's record of the dose given: one row per esketamine device, or one IV infusion."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="administrations")
    order = models.ForeignKey(DoseOrder, on_delete=models.PROTECT, related_name="administrations")
    device_number = models.PositiveSmallIntegerField(null=True, blank=True)  # esketamine: 1, 2, 3
    mg = models.DecimalField(max_digits=7, decimal_places=1)
    given_at = models.DateTimeField()  # device time / infusion start
    lot_number = models.CharField(max_length=40)
    given_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    warnings = models.JSONField(default=list, blank=True)
    # A device given before it is due (esketamine-and-rems.md: one device every 5 min) is recorded only once the
    # nurse confirms it, with why; who confirmed is the nurse recording it.
    early_confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    early_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["given_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "device_number"], name="one_row_per_device",
                                    condition=Q(device_number__isnull=False)),
            models.CheckConstraint(name="early_device_confirmed_with_reason",
                                   condition=Q(early_confirmed_by__isnull=True, early_reason="")
                                   | (Q(early_confirmed_by__isnull=False) & ~Q(early_reason=""))),
        ]


class InfusionEnd(AppendOnlyModel, ClinicOwned):
    """When an IV infusion stopped (the administration row itself never changes)."""

    administration = models.OneToOneField(DoseAdministration, on_delete=models.PROTECT, related_name="end")
    ended_at = models.DateTimeField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    note = models.TextField(blank=True)


class VitalsReading(AppendOnlyModel, ClinicOwned):
    """One set of observations (BP, heart rate, SpO2, respiratory rate, MOAA/S, CADSS) at `taken_at`."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="vitals")
    taken_at = models.DateTimeField()
    systolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True, validators=_range(50, 300))
    diastolic_mmhg = models.PositiveSmallIntegerField(null=True, blank=True, validators=_range(20, 200))
    heart_rate_bpm = models.PositiveSmallIntegerField(null=True, blank=True, validators=_range(20, 250))
    spo2_pct = models.PositiveSmallIntegerField(null=True, blank=True, validators=_range(50, 100))
    resp_rate_per_min = models.PositiveSmallIntegerField(null=True, blank=True, validators=_range(0, 80))
    moaas = models.PositiveSmallIntegerField("MOAA/S", null=True, blank=True, validators=_range(0, 5))
    cadss_total = models.PositiveSmallIntegerField("CADSS total", null=True, blank=True, validators=_range(0, 92))
    pre_dose = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["taken_at", "id"]
        constraints = [
            models.CheckConstraint(name="bp_pair_or_none", condition=(
                Q(systolic_mmhg__isnull=True, diastolic_mmhg__isnull=True)
                | Q(systolic_mmhg__isnull=False, diastolic_mmhg__isnull=False))),
            models.CheckConstraint(name="systolic_above_diastolic", condition=(
                Q(systolic_mmhg__isnull=True) | Q(systolic_mmhg__gt=models.F("diastolic_mmhg")))),
        ]


class SideEffectCheck(AppendOnlyModel, ClinicOwned):
    """The side-effect checklist at one time point (an empty list = checked, none present)."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="side_effect_checks")
    at = models.DateTimeField()
    effects = models.JSONField(default=list, blank=True)
    other = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class AdverseEvent(AppendOnlyModel, ClinicOwned):
    """An adverse event during the session, with onset and (once known) resolution."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="adverse_events")
    description = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=c.AdverseEventSeverity.choices)
    serious = models.BooleanField(default=False)
    onset_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.TextField(blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    resolution_recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                               related_name="+")

    append_only_frozen_by = "resolved_at"  # open until resolved (the resolution may add to the action), then final

    class Meta:
        ordering = ["onset_at", "id"]
        constraints = [models.CheckConstraint(name="resolved_after_onset", condition=(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("onset_at"))))]


class SessionAddendum(AppendOnlyModel, ClinicOwned):
    """A correction or late entry added to a signed session; the signed note stays as it was."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class RemsEnrollment(AppendOnlyModel, ClinicOwned):
    """The patient's SPRAVATO REMS enrollment, recorded before the first outpatient dose (§8.3)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    enrolled_on = models.DateField()
    reference = models.CharField(max_length=40, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-enrolled_on", "-id"]


class PatientMonitoringForm(AppendOnlyModel, ClinicOwned):
    """The REMS Patient Monitoring Form for one esketamine session, due within 7 days (§8.3).

    Its fields are computed from the session until it is submitted; submission freezes them in `data`.
    """

    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="rems_form")
    session_on = models.DateField()
    due_on = models.DateField()
    template_version = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submission_reference = models.CharField(max_length=60, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["clinic", "due_on"])]

    append_only_frozen_by = "submitted_at"  # computed until submitted, then frozen


class SessionMeasure(AppendOnlyModel, ClinicOwned):
    """A questionnaire response taken for this session: before the dose or at `offset_hours` after it."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="measures")
    response = models.OneToOneField("instruments.QuestionnaireResponse", on_delete=models.PROTECT, related_name="+")
    instrument_key = models.CharField(max_length=64)
    timing = models.CharField(max_length=4, choices=c.MeasureTiming.choices)
    offset_hours = models.SmallIntegerField(default=0)
    linked_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField()

    class Meta:
        ordering = ["offset_hours", "linked_at", "id"]


class SuicideRiskClearance(AppendOnlyModel, ClinicOwned):
    """A prescriber's clearance of an acknowledged suicide-risk alert (written with the acknowledgement when a
    prescriber acknowledges it from the session): until it exists, that alert still blocks dosing (domain/README
    rule 7: cleared only by a prescriber)."""

    alert = models.OneToOneField("safety.Alert", on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(DosingSession, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cleared_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    cleared_at = models.DateTimeField()
    note = models.TextField()
