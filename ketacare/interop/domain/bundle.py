"""Reading a patient's FHIR R4 Bundle (a Synthea export, another EHR's transaction or collection) into what KetaCare
keeps: the patient's identity, vital signs and PHQ-9 / GAD-7 totals as imported history, and medications.
Pure: the caller validates each resource's structure first (interop.services, with fhir.resources R4B); this module
checks what KetaCare needs and lists every problem, so that a bundle is refused whole with a report naming each.

Codes are the domain file's (fhir-mapping.md §2 vital signs, §3 totals). Other resources (claims, immunizations,
procedures ...) and observations of other codes are counted as not imported, never guessed at.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ketacare.interop.domain import codes

# LOINC code -> (kind, label, UCUM units accepted). Blood pressure arrives as the 85354-9 panel with components.
VITALS = {
    codes.HEART_RATE[0]: ("heart_rate", "Heart rate", {"/min"}),
    codes.RESP_RATE[0]: ("resp_rate", "Respiratory rate", {"/min"}),
    codes.OXYGEN_SAT[0]: ("spo2", "Oxygen saturation", {"%"}),
    codes.PULSE_OXIMETRY: ("spo2", "Oxygen saturation", {"%"}),
    "29463-7": ("weight", "Body weight", {"kg"}),
    "8302-2": ("height", "Body height", {"cm"}),
    "8310-5": ("temperature", "Body temperature", {"Cel"}),
}
SCORES = {"44261-6": ("phq-9", "PHQ-9 total", Decimal(0), Decimal(27)),
          "70274-6": ("gad-7", "GAD-7 total", Decimal(0), Decimal(21))}
BP_PANEL = codes.BP_PANEL[0]
SYNTHEA_DIGITS = re.compile(r"(?<=[^\W\d_])\d+$")  # Synthea marks generated names with digits: "Huey641"


@dataclass(frozen=True)
class PatientFacts:
    identity_system: str
    identity_value: str
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str
    phone: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class ObservationFacts:
    source_id: str  # the resource's id in the sending system, unique per patient
    kind: str  # "bp", "heart_rate", ..., or an instrument key ("phq-9")
    code: str  # LOINC
    label: str
    effective_at: dt.datetime
    value: Decimal | None  # None for the BP panel (its parts are below)
    unit: str
    systolic: Decimal | None = None
    diastolic: Decimal | None = None


@dataclass(frozen=True)
class MedicationFacts:
    source_id: str
    code_system: str
    code: str
    display: str
    status: str
    authored_on: dt.date | None


@dataclass
class ParsedBundle:
    patient: PatientFacts | None = None
    observations: list[ObservationFacts] = field(default_factory=list)
    medications: list[MedicationFacts] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # what is not imported, by resource type / code
    problems: list[str] = field(default_factory=list)


def _where(index: int, resource: Mapping[str, Any]) -> str:
    return f"entry {index} ({resource.get('resourceType', '?')}/{resource.get('id', '?')})"


def _instant(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _first_coding(concept: Any, system: str | None = None) -> Mapping[str, Any] | None:
    for coding in (concept or {}).get("coding", []) if isinstance(concept, Mapping) else []:
        if system is None or coding.get("system") == system:
            return coding
    return None


def _quantity(resource: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, Mapping) or quantity.get("value") is None:
        return None
    try:
        return Decimal(str(quantity["value"])), str(quantity.get("code") or quantity.get("unit") or "")
    except InvalidOperation:
        return None


def plain_name(text: str) -> str:
    """A generated Synthea name without the digits Synthea appends ("Kilback373" -> "Kilback"); other names as
    they are (KetaCare's name rule then decides)."""
    return SYNTHEA_DIGITS.sub("", text.strip())


def _identity(resource: Mapping[str, Any]) -> tuple[str, str] | None:
    identifiers = [i for i in resource.get("identifier", []) if i.get("system") and i.get("value")]
    typed = [i for i in identifiers if (_first_coding(i.get("type"), codes.IDENTIFIER_TYPE) or {}).get("code") == "MR"]
    chosen = (typed or identifiers or [None])[0]
    return (chosen["system"], chosen["value"]) if chosen else None


def _patient(index: int, resource: Mapping[str, Any], problems: list[str]) -> PatientFacts | None:
    where = _where(index, resource)
    identity = _identity(resource)
    if identity is None:
        problems.append(f"{where}: no identifier with a system and a value (a re-import could not be recognised)")
    names = [n for n in resource.get("name", []) if n.get("family") and n.get("given")]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if official is None:
        problems.append(f"{where}: no name with a family and a given name")
    birth = resource.get("birthDate")
    try:
        birth_date = dt.date.fromisoformat(birth) if isinstance(birth, str) and len(birth) == 10 else None
    except ValueError:
        birth_date = None
    if birth_date is None:
        problems.append(f"{where}: birthDate must be a full date (YYYY-MM-DD)")
    sex = resource.get("gender")
    if sex not in ("female", "male", "other", "unknown"):
        problems.append(f"{where}: gender must be female, male, other or unknown")
    if identity is None or official is None or birth_date is None or sex is None:
        return None
    phone = next((t["value"] for t in resource.get("telecom", []) if t.get("system") == "phone" and t.get("value")),
                 "")
    address: Mapping[str, Any] = next(iter(resource.get("address", [])), {})
    return PatientFacts(
        identity_system=identity[0], identity_value=identity[1], given_name=plain_name(official["given"][0]),
        family_name=plain_name(official["family"]), birth_date=birth_date, sex=sex, phone=phone,
        address_line=", ".join(address.get("line", []))[:200], city=address.get("city", ""),
        state=address.get("state", "") if len(address.get("state", "")) == 2 else "",
        postal_code=address.get("postalCode", ""))


def _observation(index: int, resource: Mapping[str, Any], problems: list[str],
                 skipped: Counter[str]) -> ObservationFacts | None:
    where = _where(index, resource)
    coding = _first_coding(resource.get("code"), codes.LOINC)
    code = coding.get("code") if coding else None
    if code not in VITALS and code not in SCORES and code != BP_PANEL:
        skipped[f"Observation {code or 'without a LOINC code'}"] += 1
        return None
    if resource.get("status") in ("entered-in-error", "cancelled"):
        skipped[f"Observation {code} ({resource['status']})"] += 1
        return None
    at = _instant(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start"))
    if at is None:
        problems.append(f"{where}: effectiveDateTime must be a date and time with a time zone")
        return None
    source_id = str(resource.get("id") or "")
    if not source_id:
        problems.append(f"{where}: an Observation without an id cannot be recognised on a re-import")
        return None
    if code == BP_PANEL:
        parts = {}
        for component in resource.get("component", []):
            part = _first_coding(component.get("code"), codes.LOINC)
            quantity = _quantity(component)
            if part and quantity:
                parts[part.get("code")] = quantity
        systolic, diastolic = parts.get(codes.SYSTOLIC[0]), parts.get(codes.DIASTOLIC[0])
        if systolic is None or diastolic is None:
            problems.append(f"{where}: a blood pressure panel needs systolic (8480-6) and diastolic (8462-4) values")
            return None
        if {systolic[1], diastolic[1]} != {"mm[Hg]"}:
            problems.append(f"{where}: blood pressure must be in mm[Hg], not {systolic[1]} / {diastolic[1]}")
            return None
        if not Decimal(20) <= diastolic[0] < systolic[0] <= Decimal(300):
            problems.append(f"{where}: {systolic[0]}/{diastolic[0]} mm[Hg] is not a possible blood pressure")
            return None
        return ObservationFacts(source_id, "bp", code, "Blood pressure", at, None, "mm[Hg]", systolic[0], diastolic[0])
    quantity = _quantity(resource)
    if quantity is None:
        problems.append(f"{where}: valueQuantity with a value is required for {code}")
        return None
    value, unit = quantity
    if code in SCORES:
        key, label, low, high = SCORES[code]
        if not low <= value <= high or value != value.to_integral_value():
            problems.append(f"{where}: a {label} of {value} is outside {low}-{high}")
            return None
        return ObservationFacts(source_id, key, code, label, at, value, "{score}")
    kind, label, units = VITALS[code]
    if unit not in units:
        problems.append(f"{where}: {label} must be in {' or '.join(sorted(units))}, not {unit or 'no unit'}")
        return None
    return ObservationFacts(source_id, kind, code, label, at, value, unit)


def _medication(index: int, resource: Mapping[str, Any], medications: Mapping[str, Mapping[str, Any]],
                problems: list[str]) -> MedicationFacts | None:
    where = _where(index, resource)
    concept = resource.get("medicationCodeableConcept")
    if concept is None and (ref := (resource.get("medicationReference") or {}).get("reference")):
        concept = (medications.get(ref) or {}).get("code")
        if concept is None:
            problems.append(f"{where}: medicationReference {ref} is not in the bundle")
            return None
    coding = _first_coding(concept)
    if not coding or not coding.get("code"):
        problems.append(f"{where}: the medication has no code")
        return None
    authored = _instant(resource.get("authoredOn"))
    return MedicationFacts(str(resource.get("id") or ""), str(coding.get("system") or ""), str(coding["code"]),
                           str(coding.get("display") or (concept or {}).get("text") or coding["code"])[:200],
                           str(resource.get("status") or ""), authored.date() if authored else None)


def parse_bundle(bundle: Mapping[str, Any]) -> ParsedBundle:
    """What KetaCare takes from a bundle of one patient's record, with every problem found (none: importable)."""
    parsed = ParsedBundle()
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in ("transaction", "collection",
                                                                              "batch", "searchset"):
        parsed.problems.append("the file is not a FHIR Bundle of type transaction, collection, batch or searchset")
        return parsed
    entries = [e.get("resource") or {} for e in bundle.get("entry", [])]
    by_url = {e.get("fullUrl"): e.get("resource") or {} for e in bundle.get("entry", []) if e.get("fullUrl")}
    medications = {url: r for url, r in by_url.items() if r.get("resourceType") == "Medication"}
    patients = [(i, r) for i, r in enumerate(entries) if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        parsed.problems.append(f"a bundle must hold exactly one Patient (this one holds {len(patients)})")
    else:
        parsed.patient = _patient(*patients[0], parsed.problems)
    seen: set[str] = set()
    for index, resource in enumerate(entries):
        kind = resource.get("resourceType")
        if kind == "Observation":
            facts = _observation(index, resource, parsed.problems, parsed.skipped)
            if facts is not None:
                if facts.source_id in seen:
                    parsed.problems.append(f"{_where(index, resource)}: the id {facts.source_id} appears twice")
                seen.add(facts.source_id)
                parsed.observations.append(facts)
        elif kind == "MedicationRequest":
            medication = _medication(index, resource, medications, parsed.problems)
            if medication is not None:
                parsed.medications.append(medication)
        elif kind not in ("Patient", "Medication"):
            parsed.skipped[str(kind)] += 1
    return parsed
