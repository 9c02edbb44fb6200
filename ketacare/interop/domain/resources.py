"""KetaCare's records as FHIR R4 resources (fhir-mapping.md §1–§4). Pure: plain rows in, JSON-ready dicts out.

Logical ids are the database ids of the source rows (never an MRN or a name), prefixed where one row gives several
resources (a vitals reading is one Observation per measurement: `vitals-<id>-bp`, `vitals-<id>-hr`, ...).
Every resource carries `meta.lastUpdated` (when KetaCare recorded it), which `_lastUpdated` searches.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ketacare.interop.domain import codes

Resource = dict[str, Any]


# ---- rows (what the selectors read) -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PatientRow:
    id: int
    clinic_id: int
    mrn: str
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str  # FHIR AdministrativeGender values already (patients.models.Sex)
    phone: str
    email: str
    address_line: str
    city: str
    state: str
    postal_code: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class VitalsRow:
    id: int
    patient_id: int
    session_id: int
    taken_at: dt.datetime
    recorded_at: dt.datetime
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None
    resp_rate: int | None


@dataclass(frozen=True)
class ResponseRow:
    id: int
    patient_id: int
    instrument_key: str
    instrument_version: str
    instrument_title: str
    total_code: str | None  # the instrument's code for its total (LOINC where one exists)
    total_code_system: str | None
    answered_at: dt.datetime
    entered_at: dt.datetime
    complete: bool
    total: Decimal | None
    band: str
    answers: Mapping[str, Any]
    options: Mapping[str, Mapping[str, tuple[str | None, str]]]  # linkId -> code -> (system, display)
    supersedes_id: int | None
    superseded_by_id: int | None
    session_id: int | None = None


@dataclass(frozen=True)
class SessionRow:
    id: int
    patient_id: int
    course_id: int
    number: int
    route: str
    state: str
    planned_on: dt.date
    checked_in_at: dt.datetime | None
    first_dose_at: dt.datetime | None
    discharged_at: dt.datetime | None
    state_changed_at: dt.datetime | None
    room: str


@dataclass(frozen=True)
class DoseRow:
    id: int
    patient_id: int
    session_id: int
    route: str
    mg: Decimal
    given_at: dt.datetime
    recorded_at: dt.datetime
    lot_number: str
    device_number: int | None


@dataclass(frozen=True)
class AlertRow:
    id: int
    patient_id: int
    code: str
    severity: str
    message: str
    open: bool
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None


# ---- helpers ----------------------------------------------------------------------------------------------------

def instant(value: dt.datetime) -> str:
    """A FHIR instant / dateTime: aware, to the second, UTC offset written out."""
    if value.tzinfo is None:
        raise ValueError("FHIR instants need a time zone")
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _meta(updated: dt.datetime, profile: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"lastUpdated": instant(updated)}
    if profile:
        meta["profile"] = [profile]
    return meta


def _ref(resource_type: str, ident: int | str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{ident}"}


def _number(value: Decimal | int) -> int | float:
    """JSON number for a FHIR decimal: whole values as integers (a score of 12, not 12.00)."""
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def _quantity(value: Decimal | int, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": _number(value), "unit": unit, "system": codes.UCUM, "code": code or unit}


def _vital_code(code: tuple[str, str, str, str]) -> dict[str, Any]:
    return {"coding": [{"system": codes.LOINC, "code": code[0], "display": code[1]}], "text": code[1]}


VITAL_SIGNS_CATEGORY = [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "vital-signs",
                                     "display": "Vital Signs"}]}]
SURVEY_CATEGORY = [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]


# ---- Patient ----------------------------------------------------------------------------------------------------

def patient(row: PatientRow) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(row.id),
        "meta": _meta(row.updated_at),
        "identifier": [{
            "use": "usual",
            "type": {"coding": [{"system": codes.IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]},
            "system": codes.MRN_SYSTEM.format(clinic_id=row.clinic_id),
            "value": row.mrn,
        }],
        "active": True,
        "name": [{"use": "official", "family": row.family_name, "given": [row.given_name]}],
        "gender": row.sex,
        "birthDate": row.birth_date.isoformat(),
    }
    telecom = ([{"system": "phone", "value": row.phone, "use": "mobile"}] if row.phone else []) + (
        [{"system": "email", "value": row.email}] if row.email else [])
    if telecom:
        resource["telecom"] = telecom
    parts = (("city", row.city), ("state", row.state), ("postalCode", row.postal_code))
    address: dict[str, Any] = {k: v for k, v in parts if v}
    if row.address_line:
        address["line"] = [row.address_line]
    if address:
        resource["address"] = [{"use": "home", **address}]
    return resource


# ---- Observations -----------------------------------------------------------------------------------------------

def vitals_observations(row: VitalsRow) -> list[Resource]:
    """One Observation per vital sign measured in the reading, each with its R4 vital-signs profile
    (fhir-mapping.md §2). A reading without a measurement gives nothing."""

    def base(suffix: str, code: tuple[str, str, str, str]) -> Resource:
        return {
            "resourceType": "Observation",
            "id": f"vitals-{row.id}-{suffix}",
            "meta": _meta(row.recorded_at, codes.PROFILE_BASE + code[3]),
            "status": "final",
            "category": VITAL_SIGNS_CATEGORY,
            "code": _vital_code(code),
            "subject": _ref("Patient", row.patient_id),
            "encounter": _ref("Encounter", row.session_id),
            "effectiveDateTime": instant(row.taken_at),
        }

    out: list[Resource] = []
    if row.systolic is not None and row.diastolic is not None:
        bp = base("bp", codes.BP_PANEL)
        bp["component"] = [
            {"code": _vital_code(codes.SYSTOLIC), "valueQuantity": _quantity(row.systolic, "mmHg", "mm[Hg]")},
            {"code": _vital_code(codes.DIASTOLIC), "valueQuantity": _quantity(row.diastolic, "mmHg", "mm[Hg]")},
        ]
        out.append(bp)
    for suffix, code, value in (("hr", codes.HEART_RATE, row.heart_rate), ("rr", codes.RESP_RATE, row.resp_rate)):
        if value is not None:
            out.append({**base(suffix, code), "valueQuantity": _quantity(value, "/min")})
    if row.spo2 is not None:
        spo2 = base("spo2", codes.OXYGEN_SAT)
        spo2["code"]["coding"].append({"system": codes.LOINC, "code": codes.PULSE_OXIMETRY,
                                       "display": "Oxygen saturation in Arterial blood by Pulse oximetry"})
        out.append({**spo2, "valueQuantity": _quantity(row.spo2, "%")})
    return out


def score_code(row: ResponseRow) -> dict[str, Any]:
    if row.total_code:
        coding = {"system": row.total_code_system or codes.LOINC, "code": row.total_code}
    else:
        coding = {"system": codes.LOCAL_SCORES, "code": f"{row.instrument_key}-total"}
    return {"coding": [{**coding, "display": f"{row.instrument_title} total score"}],
            "text": f"{row.instrument_title} total score"}


def _status(row: ResponseRow, final: str, amended: str) -> str:
    """Corrections are new rows pointing at the original: the original is then `entered-in-error` (it no longer
    stands), the correction `amended`."""
    if row.superseded_by_id is not None:
        return "entered-in-error"
    return amended if row.supersedes_id is not None else final


def score_observation(row: ResponseRow) -> Resource | None:
    """The total score as an Observation (category survey) derived from its QuestionnaireResponse
    (fhir-mapping.md §3); None when the response has no total (incomplete)."""
    if row.total is None:
        return None
    resource: Resource = {
        "resourceType": "Observation",
        "id": f"score-{row.id}",
        "meta": _meta(row.entered_at),
        "status": _status(row, "final", "amended"),
        "category": SURVEY_CATEGORY,
        "code": score_code(row),
        "subject": _ref("Patient", row.patient_id),
        "effectiveDateTime": instant(row.answered_at),
        "valueQuantity": {"value": _number(row.total), "system": codes.UCUM, "code": "{score}", "unit": "{score}"},
        "derivedFrom": [_ref("QuestionnaireResponse", row.id)],
    }
    if row.band:
        resource["interpretation"] = [{"text": row.band}]
    if row.session_id is not None:
        resource["encounter"] = _ref("Encounter", row.session_id)
    return resource


_LOINC_ANSWER = re.compile(r"^LA\d+-\d$")


def _answer(value: Any, options: Mapping[str, tuple[str | None, str]]) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float | Decimal):
        number = _number(Decimal(str(value)))
        return {"valueInteger": number} if isinstance(number, int) else {"valueDecimal": number}
    text = str(value)
    if text in options:
        system, display = options[text]
        coding = {"code": text, "display": display}
        if system or _LOINC_ANSWER.match(text):
            coding["system"] = system or codes.LOINC
        return {"valueCoding": coding}
    return {"valueString": text}


def questionnaire_response(row: ResponseRow) -> Resource:
    items = [{"linkId": link_id, "answer": [_answer(value, row.options.get(link_id, {}))]}
             for link_id, value in row.answers.items() if value is not None and value != ""]
    resource: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(row.id),
        "meta": _meta(row.entered_at),
        "questionnaire": f"{codes.QUESTIONNAIRE_BASE}/{row.instrument_key}|{row.instrument_version}",
        "status": _status(row, "completed" if row.complete else "in-progress", "amended"),
        "subject": _ref("Patient", row.patient_id),
        "authored": instant(row.answered_at),
    }
    if items:
        resource["item"] = items
    if row.session_id is not None:
        resource["encounter"] = _ref("Encounter", row.session_id)
    return resource


# ---- Encounter, MedicationAdministration, Flag ------------------------------------------------------------------

ENCOUNTER_STATUS = {
    "scheduled": "planned", "checked_in": "arrived", "pre_dose": "in-progress", "dosing": "in-progress",
    "monitoring": "in-progress", "observation": "in-progress", "ready_for_discharge": "in-progress",
    "discharged": "finished", "cancelled": "cancelled", "held": "cancelled", "escalated": "finished",
}
ROUTE_TEXT = {"iv": "IV ketamine infusion session", "intranasal": "Esketamine nasal spray session",
              "none": "Psychotherapy or integration session"}


def encounter(row: SessionRow) -> Resource:
    """A dosing or therapy session: class AMB, period from arrival to discharge (fhir-mapping.md §1)."""
    start = row.checked_in_at or row.first_dose_at
    updated = row.state_changed_at or row.discharged_at or start
    resource: Resource = {
        "resourceType": "Encounter",
        "id": str(row.id),
        "meta": _meta(updated) if updated else {},
        "status": ENCOUNTER_STATUS.get(row.state, "unknown"),
        "class": {"system": codes.ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": ROUTE_TEXT.get(row.route, row.route)}],
        "subject": _ref("Patient", row.patient_id),
    }
    if not resource["meta"]:
        del resource["meta"]
    if start is not None:
        resource["period"] = {"start": instant(start)}
        if row.discharged_at is not None:
            resource["period"]["end"] = instant(row.discharged_at)
    return resource


MEDICATION_TEXT = {"iv": ("ketamine-hcl-injection", "Ketamine hydrochloride injection"),
                   "intranasal": ("esketamine-28mg-device", "Esketamine nasal spray, 28 mg device")}


def medication_administration(row: DoseRow) -> Resource:
    """One dose given (an infusion, or one esketamine device), with the lot in a contained Medication."""
    code, text = MEDICATION_TEXT.get(row.route, (row.route, row.route))
    route_code, route_display = codes.ROUTE_SNOMED.get(row.route, ("", row.route))
    medication: Resource = {"resourceType": "Medication", "id": "med",
                            "code": {"coding": [{"system": codes.LOCAL_MEDICATIONS, "code": code, "display": text}],
                                     "text": text}}
    if row.lot_number:
        medication["batch"] = {"lotNumber": row.lot_number}
    dosage: dict[str, Any] = {"dose": _quantity(row.mg, "mg")}
    if route_code:
        dosage["route"] = {"coding": [{"system": codes.SNOMED, "code": route_code, "display": route_display}]}
    if row.device_number is not None:
        dosage["text"] = f"device {row.device_number}"
    return {
        "resourceType": "MedicationAdministration",
        "id": str(row.id),
        "meta": _meta(row.recorded_at),
        "contained": [medication],
        "status": "completed",
        "medicationReference": {"reference": "#med"},
        "subject": _ref("Patient", row.patient_id),
        "context": _ref("Encounter", row.session_id),
        "effectiveDateTime": instant(row.given_at),
        "dosage": dosage,
    }


def flag(row: AlertRow) -> Resource:
    """A safety alert as a Flag: active until a clinician acknowledges it (fhir-mapping.md §4)."""
    period = {"start": instant(row.raised_at)}
    if row.acknowledged_at is not None:
        period["end"] = instant(row.acknowledged_at)
    return {
        "resourceType": "Flag",
        "id": str(row.id),
        "meta": _meta(row.acknowledged_at or row.raised_at),
        "status": "active" if row.open else "inactive",
        "category": [{"coding": [{"system": codes.FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}],
        "code": {"coding": [{"system": codes.LOCAL_ALERTS, "code": row.code}],
                 "text": f"{row.severity.upper()}: {row.message}"},
        "subject": _ref("Patient", row.patient_id),
        "period": period,
    }


# ---- Bundles and errors -----------------------------------------------------------------------------------------

def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> Resource:
    """FHIR's error body (issue type codes: not-found, forbidden, login, invalid, not-supported, too-costly)."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


@dataclass(frozen=True)
class Page:
    matches: Sequence[Resource]
    total: int
    self_url: str
    next_url: str | None = None
    included: Sequence[Resource] = field(default_factory=tuple)


def searchset(page: Page, base: str) -> Resource:
    links = [{"relation": "self", "url": page.self_url}]
    if page.next_url:
        links.append({"relation": "next", "url": page.next_url})
    entries = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
               for r in page.matches]
    entries += [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "include"}}
                for r in page.included]
    return {"resourceType": "Bundle", "type": "searchset", "total": page.total, "link": links, "entry": entries}
