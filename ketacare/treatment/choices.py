"""Stable stored values of the treatment app (lowercase; the domain enums hold the same values)."""

from django.db import models

from ketacare.treatment.domain.dosing import WeightBasis as DomainWeightBasis
from ketacare.treatment.domain.protocols import Route as DomainRoute
from ketacare.treatment.domain.states import PregnancyCheck as DomainPregnancyCheck
from ketacare.treatment.domain.states import SessionState as DomainSessionState


class Route(models.TextChoices):
    INTRAVENOUS = DomainRoute.INTRAVENOUS.value, "IV infusion"
    INTRANASAL = DomainRoute.INTRANASAL.value, "Nasal spray"
    NONE = DomainRoute.NONE.value, "No drug (therapy)"


class CourseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class SessionState(models.TextChoices):
    SCHEDULED = DomainSessionState.SCHEDULED.value, "Scheduled"
    CHECKED_IN = DomainSessionState.CHECKED_IN.value, "Checked in"
    PRE_DOSE = DomainSessionState.PRE_DOSE.value, "Pre-dose assessment"
    DOSING = DomainSessionState.DOSING.value, "Dosing"
    MONITORING = DomainSessionState.MONITORING.value, "Monitoring"
    OBSERVATION = DomainSessionState.OBSERVATION.value, "Observation"
    READY_FOR_DISCHARGE = DomainSessionState.READY_FOR_DISCHARGE.value, "Ready for discharge"
    DISCHARGED = DomainSessionState.DISCHARGED.value, "Discharged"
    CANCELLED = DomainSessionState.CANCELLED.value, "Cancelled"
    HELD = DomainSessionState.HELD.value, "Held (not dosed)"
    ESCALATED = DomainSessionState.ESCALATED.value, "Escalated"


ACTIVE_STATES = frozenset({SessionState.CHECKED_IN, SessionState.PRE_DOSE, SessionState.DOSING,
                           SessionState.MONITORING, SessionState.OBSERVATION, SessionState.READY_FOR_DISCHARGE})
FINAL_STATES = frozenset({SessionState.DISCHARGED, SessionState.CANCELLED, SessionState.HELD,
                          SessionState.ESCALATED})


class WeightBasis(models.TextChoices):
    ACTUAL = DomainWeightBasis.ACTUAL.value, "Actual body weight"
    IDEAL = DomainWeightBasis.IDEAL.value, "Ideal body weight (Devine)"
    ADJUSTED = DomainWeightBasis.ADJUSTED.value, "Adjusted body weight"


class IbwSex(models.TextChoices):
    """The two constants of the Devine formula (not the patient's recorded sex)."""

    MALE = "male", "Male constant (50 kg)"
    FEMALE = "female", "Female constant (45.5 kg)"


class PregnancyCheck(models.TextChoices):
    NOT_APPLICABLE = DomainPregnancyCheck.NOT_APPLICABLE.value, "Not applicable"
    NEGATIVE = DomainPregnancyCheck.NEGATIVE.value, "Negative"
    POSITIVE = DomainPregnancyCheck.POSITIVE.value, "Positive"


class SideEffect(models.TextChoices):
    NAUSEA = "nausea", "Nausea"
    VOMITING = "vomiting", "Vomiting"
    DIZZINESS = "dizziness", "Dizziness"
    HEADACHE = "headache", "Headache"
    ANXIETY = "anxiety", "Anxiety"
    DISSOCIATION = "dissociation", "Dissociation"
    SEDATION = "sedation", "Sedation"
    VERTIGO = "vertigo", "Vertigo"
    DYSGEUSIA = "dysgeusia", "Taste change"
    HYPOESTHESIA = "hypoesthesia", "Numbness"
    BLURRED_VISION = "blurred_vision", "Blurred vision"
    RESPIRATORY_DEPRESSION = "respiratory_depression", "Slowed breathing"


class AdverseEventSeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class SettingType(models.TextChoices):
    """REMS healthcare setting: inpatient settings and EDs submit no Patient Monitoring Form (§8.2)."""

    OUTPATIENT = "outpatient", "Outpatient"
    INPATIENT = "inpatient", "Inpatient"
    ED = "ed", "Emergency department"


class MeasureTiming(models.TextChoices):
    PRE = "pre", "Before the dose"
    POST = "post", "After the dose"


# Labels for the protocols' discharge-criteria keys (domain/protocols.py).
DISCHARGE_CRITERIA_LABELS = {
    "sedation_resolved": "Sedation resolved (MOAA/S 5)",
    "dissociation_resolved": "Dissociation resolved",
    "respiratory_status_normal": "Respiratory status normal (SpO2, breathing)",
    "bp_acceptable": "Blood pressure at a safe level",
    "ride_confirmed": "Ride home confirmed (no driving today)",
    "clinician_judged_stable": "Clinician judges the patient stable to leave",
    "vitals_near_baseline": "Vital signs near baseline",
    "alert_and_oriented": "Alert and oriented",
    "escort_present": "Responsible adult escort present",
}
