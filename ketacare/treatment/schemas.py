"""API shapes of the treatment app. Every field is listed explicitly (no model-wide dumps).

Inputs are all optional at the schema level so that the record is looked up (404 for another clinic) before the
body is judged; the service then names each missing or wrong field in a 422.
"""

import datetime as dt
from decimal import Decimal

from ketacare.core.schemas import Schema


class CourseIn(Schema):
    protocol: str | None = None
    start_on: dt.date | None = None
    open_ended_cycles: int = 0
    open_ended_cycle_days: int | None = None


class SessionBrief(Schema):
    id: int
    number: int
    phase: str
    planned_on: dt.date
    state: str
    first_dose_at: dt.datetime | None
    discharged_at: dt.datetime | None


class CourseOut(Schema):
    id: int
    patient_id: int
    protocol: str
    route: str
    status: str
    start_on: dt.date
    sessions_done: int
    sessions_planned: int
    next_due_on: dt.date | None
    created_at: dt.datetime
    ended_at: dt.datetime | None


class CourseDetailOut(CourseOut):
    sessions: list[SessionBrief]


class TransitionIn(Schema):
    to: str | None = None
    reason: str = ""
    room: str = ""


class VitalsIn(Schema):
    taken_at: dt.datetime | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_pct: int | None = None
    resp_rate_per_min: int | None = None
    moaas: int | None = None
    cadss_total: int | None = None


class FindingBrief(Schema):
    """One rule that fired on this reading (a part of the alert)."""

    code: str
    severity: str
    message: str
    value: str


class AlertBrief(Schema):
    """The one alert of the reading's findings: new, or the session's open alert they joined."""

    id: int
    code: str
    severity: str
    message: str
    status: str
    findings: list[FindingBrief] = []


class VitalsOut(Schema):
    id: int
    session_id: int
    taken_at: dt.datetime
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    spo2_pct: int | None
    resp_rate_per_min: int | None
    moaas: int | None
    cadss_total: int | None
    pre_dose: bool
    recorded_by: str
    alerts: list[AlertBrief] = []


class DoseOrderIn(Schema):
    dose_mg: Decimal | None = None
    mg_per_kg: Decimal | None = None
    concentration_mg_per_ml: Decimal | None = None
    infusion_minutes: int | None = None
    override_reason: str = ""


class DoseOrderOut(Schema):
    id: int
    session_id: int
    ordered_by: str
    ordered_at: dt.datetime
    dose_mg: Decimal
    mg_per_kg: Decimal | None
    weight_basis: str
    dosing_weight_kg: Decimal | None
    concentration_mg_per_ml: Decimal | None
    infusion_minutes: int | None
    volume_ml: Decimal | None
    rate_mg_per_min: Decimal | None
    rate_ml_per_h: Decimal | None
    device_count: int | None
    working: list[str]
    issues: list[dict]
    override_reason: str


class AdministrationIn(Schema):
    lot_number: str = ""
    given_at: dt.datetime | None = None
    device_number: int | None = None
    early_reason: str = ""  # confirms a device given before it is due (refused without it)


class AdministrationOut(Schema):
    id: int
    session_id: int
    order_id: int
    device_number: int | None
    mg: Decimal
    given_at: dt.datetime
    lot_number: str
    given_by: str
    warnings: list[str]


class TransitionOut(Schema):
    from_state: str
    to_state: str
    at: dt.datetime
    by: str
    reason: str


class SessionOut(Schema):
    id: int
    course_id: int
    patient_id: int
    number: int
    phase: str
    planned_on: dt.date
    state: str
    room: str
    protocol: str
    checked_in_at: dt.datetime | None
    first_dose_at: dt.datetime | None
    dose_completed_at: dt.datetime | None
    discharged_at: dt.datetime | None
    observation_minimum_minutes: int
    observation_ends_at: dt.datetime | None
    allowed_transitions: list[str]
    pre_dose_refusals: list[dict]
    discharge_criteria: list[str]
    signed_at: dt.datetime | None
    dose_order: DoseOrderOut | None
    administrations: list[AdministrationOut]
    vitals: list[VitalsOut]
    transitions: list[TransitionOut]
