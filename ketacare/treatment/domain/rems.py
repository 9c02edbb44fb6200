"""SPRAVATO REMS Patient Monitoring Form (PMF): fields from a session snapshot, completeness, deadline and status.

Source: docs/domain/esketamine-and-rems.md §8.3 (PMF fields, asterisked = required on the 11/2021 paper form;
software rules: require lot number, three BP readings, total duration, concomitant-medication answers; due within
7 calendar days of the session; escalate at day 5; not required for inpatient/ED settings), §8.4 (keep every REMS
requirement behind configuration flags), §7 (total time from the 1st device must be at least 120 minutes).
The adverse-effect sub-fields were truncated in the retrieved copies [S]; only yes/no questions are listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class RemsSettings:
    """REMS configuration flags (§8.4); a compliance owner verifies them against REMS@FDA before release."""

    pmf_required: bool = True
    patient_enrollment_required: bool = True
    pmf_due_days: int = 7  # calendar days after the session [C]/[S] §8.3
    pmf_due_soon_after_days: int = 5  # "escalate at day 5" §8.3 software rule
    min_monitoring_minutes: int = 120  # ≥ 2 h from the first device [C] §7


EXEMPT_SETTING_TYPES = frozenset({"inpatient", "ed"})  # §8.2: inpatient settings and EDs submit no PMF


@dataclass(frozen=True)
class PmfField:
    key: str
    section: str
    required: bool


PMF_FIELDS: tuple[PmfField, ...] = (
    PmfField("patient_first_name", "patient", True),
    PmfField("patient_middle_initial", "patient", False),
    PmfField("patient_last_name", "patient", True),
    PmfField("patient_birth_date", "patient", True),
    PmfField("patient_sex", "patient", True),
    PmfField("first_treatment", "patient", False),
    PmfField("patient_rems_enrolled", "patient", False),  # required when first_treatment is yes
    PmfField("benzodiazepines", "concomitant_medication", True),
    PmfField("non_benzodiazepine_sedative_hypnotics", "concomitant_medication", True),
    PmfField("psychostimulants", "concomitant_medication", True),
    PmfField("maois", "concomitant_medication", True),
    PmfField("opioids", "concomitant_medication", False),  # mentioned in the J&J video only
    PmfField("hcp_first_name", "monitoring_hcp", True),
    PmfField("hcp_last_name", "monitoring_hcp", True),
    PmfField("hcp_telephone", "monitoring_hcp", True),
    PmfField("hcp_email", "monitoring_hcp", True),
    PmfField("setting_name", "healthcare_setting", True),
    PmfField("setting_address_1", "healthcare_setting", True),
    PmfField("setting_address_2", "healthcare_setting", False),
    PmfField("setting_city", "healthcare_setting", True),
    PmfField("setting_state", "healthcare_setting", True),
    PmfField("setting_zip", "healthcare_setting", True),
    PmfField("treatment_date", "session", True),
    PmfField("dose_administered", "session", True),  # "56 mg" | "84 mg" | "other: <n> mg"
    PmfField("lot_number", "session", True),  # software rule
    PmfField("total_treatment_minutes", "session", True),  # software rule; 1st device -> end of monitoring
    PmfField("ready_to_leave_minutes", "rems_evaluation", False),
    PmfField("vitals_acceptable_before_administration", "vital_signs", False),
    PmfField("vitals_acceptable_before_completion", "vital_signs", False),
    PmfField("bp_prior_to_administration", "blood_pressure", True),  # software rule: all three readings
    PmfField("bp_40_min_post_administration", "blood_pressure", True),
    PmfField("bp_prior_to_completion", "blood_pressure", True),
    PmfField("sedation", "adverse_effects", False),
    PmfField("dissociation", "adverse_effects", False),
    PmfField("respiratory_depression", "adverse_effects", False),
)


@dataclass(frozen=True)
class BloodPressure:
    systolic_mmhg: int
    diastolic_mmhg: int

    def __str__(self) -> str:
        return f"{self.systolic_mmhg}/{self.diastolic_mmhg}"


@dataclass(frozen=True)
class SessionSnapshot:
    """What the clinic recorded for one outpatient esketamine session (None = not recorded)."""

    treatment_on: dt.date
    patient_first_name: str | None = None
    patient_middle_initial: str | None = None
    patient_last_name: str | None = None
    patient_birth_date: dt.date | None = None
    patient_sex: str | None = None
    first_treatment: bool | None = None
    patient_rems_enrolled: bool | None = None
    benzodiazepines: bool | None = None
    non_benzodiazepine_sedative_hypnotics: bool | None = None
    psychostimulants: bool | None = None
    maois: bool | None = None
    opioids: bool | None = None
    hcp_first_name: str | None = None
    hcp_last_name: str | None = None
    hcp_telephone: str | None = None
    hcp_email: str | None = None
    setting_name: str | None = None
    setting_address_1: str | None = None
    setting_address_2: str | None = None
    setting_city: str | None = None
    setting_state: str | None = None
    setting_zip: str | None = None
    dose_mg: Decimal | None = None
    lot_number: str | None = None
    first_device_at: dt.datetime | None = None
    monitoring_completed_at: dt.datetime | None = None
    ready_to_leave_minutes: int | None = None
    vitals_acceptable_before_administration: bool | None = None
    vitals_acceptable_before_completion: bool | None = None
    bp_prior_to_administration: BloodPressure | None = None
    bp_40_min_post_administration: BloodPressure | None = None
    bp_prior_to_completion: BloodPressure | None = None
    sedation: bool | None = None
    dissociation: bool | None = None
    respiratory_depression: bool | None = None


@dataclass(frozen=True)
class PmfDraft:
    fields: dict[str, Any]
    missing: tuple[str, ...]  # required field keys without a value
    problems: tuple[str, ...]  # values present but not acceptable

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems


def _dose_option(dose_mg: Decimal | None) -> str | None:
    if dose_mg is None:
        return None
    mg = f"{dose_mg.normalize():f} mg"
    return mg if dose_mg in (Decimal(56), Decimal(84)) else f"other: {mg}"


def pmf_from_snapshot(snapshot: SessionSnapshot, settings: RemsSettings = RemsSettings()) -> PmfDraft:
    """The PMF fields computed from the session, with the missing required fields and problems."""
    s = snapshot
    copied = {f.name: getattr(s, f.name) for f in fields(SessionSnapshot)}
    minutes = None
    if s.first_device_at is not None and s.monitoring_completed_at is not None:
        minutes = int((s.monitoring_completed_at - s.first_device_at).total_seconds() // 60)
    values: dict[str, Any] = {
        **{k: v for k, v in copied.items() if k in {f.key for f in PMF_FIELDS}},
        "treatment_date": s.treatment_on,
        "dose_administered": _dose_option(s.dose_mg),
        "total_treatment_minutes": minutes,
    }
    result = {f.key: values.get(f.key) for f in PMF_FIELDS}

    def blank(v: object) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    required = {f.key for f in PMF_FIELDS if f.required}
    if s.first_treatment:
        required.add("patient_rems_enrolled")
    missing = tuple(f.key for f in PMF_FIELDS if f.key in required and blank(result[f.key]))
    problems = []
    if minutes is not None and minutes < settings.min_monitoring_minutes:
        problems.append(f"total_treatment_minutes: {minutes} is below {settings.min_monitoring_minutes}")
    if s.first_treatment and s.patient_rems_enrolled is False and settings.patient_enrollment_required:
        problems.append("patient_rems_enrolled: first treatment without REMS enrollment")
    return PmfDraft(fields=result, missing=missing, problems=tuple(problems))


def pmf_required(setting_type: str, settings: RemsSettings = RemsSettings()) -> bool:
    return settings.pmf_required and setting_type not in EXEMPT_SETTING_TYPES


def pmf_due_on(session_on: dt.date, settings: RemsSettings = RemsSettings()) -> dt.date:
    """Last calendar day to submit: session date + 7 days."""
    return session_on + dt.timedelta(days=settings.pmf_due_days)


class PmfStatus(StrEnum):
    PENDING = "pending"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUBMITTED = "submitted"


def pmf_status(session_on: dt.date, submitted_at: dt.datetime | None, today: dt.date,
               settings: RemsSettings = RemsSettings()) -> PmfStatus:
    """submitted; else overdue when today > due date; due_soon from day 5 through the due date; else pending."""
    if submitted_at is not None:
        return PmfStatus.SUBMITTED
    if today > pmf_due_on(session_on, settings):
        return PmfStatus.OVERDUE
    if today >= session_on + dt.timedelta(days=settings.pmf_due_soon_after_days):
        return PmfStatus.DUE_SOON
    return PmfStatus.PENDING


@dataclass(frozen=True)
class PmfTask:
    session_id: int
    session_on: dt.date
    submitted_at: dt.datetime | None = None


def sort_by_deadline(tasks: Iterable[PmfTask], settings: RemsSettings = RemsSettings()) -> list[PmfTask]:
    """Unsubmitted forms first, earliest due date first (overdue ones lead); submitted ones last."""
    return sorted(tasks, key=lambda t: (t.submitted_at is not None, pmf_due_on(t.session_on, settings),
                                        t.session_id))
