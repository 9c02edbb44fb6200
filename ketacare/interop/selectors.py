"""A patient's record as FHIR resources, read through the owning apps' selectors only (never their models).

Each reader takes the asking user and a patient the caller already holds (`patients.selectors.patient_get_for`
checked the clinic); the owning apps' selectors apply the role checks again, so a role without clinical access
reads nothing clinical even if a caller forgot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from ketacare.core.errors import NotFound
from ketacare.instruments import selectors as instruments
from ketacare.instruments.domain.fhir import dump_definition
from ketacare.instruments.domain.model import Instrument
from ketacare.interop.domain import resources as r
from ketacare.patients import selectors as patients
from ketacare.safety import selectors as safety
from ketacare.treatment import selectors as treatment

_SESSION_CONTEXT = re.compile(r"^session:(\d+)")


def patient_row(p: Any) -> r.PatientRow:
    return r.PatientRow(p.pk, p.clinic_id, p.mrn, p.given_name, p.family_name, p.date_of_birth, p.sex, p.phone,
                        p.email, p.address_line, p.city, p.state, p.postal_code, p.updated_at)


def patient_resource(patient: Any) -> r.Resource:
    return r.patient(patient_row(patient))


def patients_for(*, user, query: str = "", ids: list[int] | None = None) -> Any:
    """The user's clinic's patients (a queryset, oldest id first) matching a name / MRN / date-of-birth query."""
    found = patients.patients_search_for(user=user, query=query)
    if ids is not None:
        found = found.filter(pk__in=ids)
    return found.order_by("pk")


def patient_for(*, user, patient_id: int) -> Any:
    return patients.patient_get_for(user=user, patient_id=patient_id)


@lru_cache(maxsize=256)
def _options(instrument: Instrument) -> dict[str, dict[str, tuple[str | None, str]]]:
    return {item.link_id: {o.code: (o.system, o.display) for o in item.options} for item in instrument.items}


def _instrument(key: str, version: str, clinic: Any) -> Instrument | None:
    try:
        return instruments.instrument_get(key, clinic, version=version)
    except instruments.InstrumentNotFound:
        return None


def _response_rows(responses: Any, patients: dict[int, Any]) -> Iterator[r.ResponseRow]:
    cache: dict[tuple[str, str, int], Instrument | None] = {}
    for resp in responses:
        patient = patients[resp.patient_id]
        key = (resp.instrument_key, resp.instrument_version, patient.clinic_id)
        if key not in cache:
            cache[key] = _instrument(resp.instrument_key, resp.instrument_version, patient.clinic)
        instrument = cache[key]
        superseded = getattr(resp, "superseded_by", None)
        session = _SESSION_CONTEXT.match(resp.context or "")
        yield r.ResponseRow(
            id=resp.pk, patient_id=patient.pk, instrument_key=resp.instrument_key,
            instrument_version=resp.instrument_version,
            instrument_title=instrument.title if instrument else resp.instrument_key,
            total_code=instrument.total_code if instrument else None,
            total_code_system=instrument.total_code_system if instrument else None,
            answered_at=resp.answered_at, entered_at=resp.entered_at, complete=resp.status == "complete",
            total=resp.total, band=resp.band, answers=resp.answers or {},
            options=_options(instrument) if instrument else {},
            supersedes_id=resp.supersedes_id, superseded_by_id=superseded.pk if superseded else None,
            session_id=int(session.group(1)) if session else None)


def response_rows(*, user, patient) -> Iterator[r.ResponseRow]:
    responses = instruments.responses_for(user=user, patient=patient).order_by("answered_at", "id")
    return _response_rows(responses, {patient.pk: patient})


def _vitals(v: Any, patient_id: int) -> list[r.Resource]:
    return r.vitals_observations(r.VitalsRow(
        v.pk, patient_id, v.session_id, v.taken_at, v.recorded_at, v.systolic_mmhg, v.diastolic_mmhg,
        v.heart_rate_bpm, v.spo2_pct, v.resp_rate_per_min))


def _encounter(s: Any) -> r.Resource:
    return r.encounter(r.SessionRow(
        s.pk, s.patient_id, s.course_id, s.number, s.course.route, s.state, s.planned_on, s.checked_in_at,
        s.first_dose_at, s.discharged_at, s.state_changed_at, s.room))


def _administration(d: Any) -> r.Resource:
    return r.medication_administration(r.DoseRow(
        d.pk, d.session.patient_id, d.session_id, d.session.course.route, d.mg, d.given_at, d.recorded_at,
        d.lot_number, d.device_number))


def _flag(a: Any) -> r.Resource:
    return r.flag(r.AlertRow(a.pk, a.patient_id, a.code, a.severity, a.message, a.status == "open", a.raised_at,
                             a.acknowledged_at))


def vitals_observations(*, user, patient) -> list[r.Resource]:
    out: list[r.Resource] = []
    for v in treatment.vitals_of_patient_for(user=user, patient=patient):
        out.extend(_vitals(v, patient.pk))
    return out


def observations(*, user, patient) -> list[r.Resource]:
    out = vitals_observations(user=user, patient=patient)
    for row in response_rows(user=user, patient=patient):
        score = r.score_observation(row)
        if score is not None:
            out.append(score)
    return out


def questionnaire_responses(*, user, patient) -> list[r.Resource]:
    return [r.questionnaire_response(row) for row in response_rows(user=user, patient=patient)]


def encounters(*, user, patient) -> list[r.Resource]:
    return [_encounter(s) for s in treatment.sessions_of_patient_for(user=user, patient=patient)]


def medication_administrations(*, user, patient) -> list[r.Resource]:
    return [_administration(d) for d in treatment.administrations_of_patient_for(user=user, patient=patient)]


def flags(*, user, patient) -> list[r.Resource]:
    return [_flag(a) for a in safety.alerts_for(user=user, patient=patient).order_by("raised_at", "id")]


# resource type -> reader of one patient's resources of that type
PATIENT_COMPARTMENT: dict[str, Callable[..., list[r.Resource]]] = {
    "Observation": observations,
    "QuestionnaireResponse": questionnaire_responses,
    "Encounter": encounters,
    "MedicationAdministration": medication_administrations,
    "Flag": flags,
}


def compartments(*, user, patients: list[Any], types: set[str]) -> dict[int, list[r.Resource]]:
    """Many patients' resources of the asked types at once (bulk export): one query per type for the whole group,
    through the same selectors' scoping as the one-patient readers, each patient's resources in the same order."""
    by_id = {p.pk: p for p in patients}
    ids = list(by_id)
    out: dict[int, list[r.Resource]] = {pk: [] for pk in ids}
    if "Observation" in types:
        for v in treatment.vitals_of_patients_for(user=user, patient_ids=ids):
            out[v.session.patient_id].extend(_vitals(v, v.session.patient_id))
    rows: list[r.ResponseRow] = []
    if types & {"Observation", "QuestionnaireResponse"}:
        responses = instruments.responses_of_patients_for(user=user, patient_ids=ids).order_by("answered_at", "id")
        rows = list(_response_rows(responses, by_id))
    if "Observation" in types:
        for row in rows:
            if (score := r.score_observation(row)) is not None:
                out[row.patient_id].append(score)
    if "QuestionnaireResponse" in types:
        for row in rows:
            out[row.patient_id].append(r.questionnaire_response(row))
    if "Encounter" in types:
        for s in treatment.sessions_of_patients_for(user=user, patient_ids=ids):
            out[s.patient_id].append(_encounter(s))
    if "MedicationAdministration" in types:
        for d in treatment.administrations_of_patients_for(user=user, patient_ids=ids):
            out[d.session.patient_id].append(_administration(d))
    if "Flag" in types:
        for a in safety.alerts_for(user=user).filter(patient_id__in=ids).order_by("raised_at", "id"):
            out[a.patient_id].append(_flag(a))
    return out


def questionnaires() -> list[r.Resource]:
    """The instrument definitions as FHIR Questionnaires (the shipped text only: a clinic's licensed text stays in
    the clinic's pages, never in an export)."""
    return [dump_definition(i) for i in instruments.instruments_available(None)]


_OWNED_ID = re.compile(r"^(?:(vitals|score)-)?(\d{1,18})(?:-(bp|hr|rr|spo2))?$")


def patient_of(*, user, resource_type: str, ident: str) -> int | None:
    """The patient a clinical resource id belongs to, if the user may see it; None otherwise (absent, malformed
    and another clinic's alike, so existence never leaks)."""
    match = _OWNED_ID.match(ident)
    if not match:
        return None
    prefix, number, suffix = match.group(1), int(match.group(2)), match.group(3)
    try:
        match resource_type, prefix:
            case "Observation", "vitals" if suffix:
                return treatment.patient_id_of_vitals(user=user, reading_id=number)
            case "Observation", "score" if not suffix:
                return instruments.response_get_for(user=user, response_id=number).patient_id
            case "QuestionnaireResponse", None if not suffix:
                return instruments.response_get_for(user=user, response_id=number).patient_id
            case "Encounter", None if not suffix:
                return treatment.session_get_for(user=user, session_id=number).patient_id
            case "MedicationAdministration", None if not suffix:
                return treatment.patient_id_of_administration(user=user, administration_id=number)
            case "Flag", None if not suffix:
                return safety.alert_get_for(user=user, alert_id=number).patient_id
    except NotFound:
        return None
    return None


def imported_history(*, user, patient) -> dict[str, Any]:
    """What other systems sent about the patient (imported bundles), for the chart: the latest value of each vital
    sign, the questionnaire totals, the medications and the imports themselves. Empty without clinical access."""
    from ketacare.accounts.roles import Perm
    from ketacare.interop.models import ImportedMedication, ImportedObservation, ImportRun

    if not user.has_perm_to(Perm.CLINICAL_VIEW) or patient.clinic_id != user.clinic_id:
        return {"runs": [], "latest": [], "scores": [], "medications": []}
    observations = ImportedObservation.objects.filter(patient=patient).order_by("-effective_at", "-id")
    latest: dict[str, Any] = {}
    for row in observations.exclude(kind__in=("phq-9", "gad-7")):
        latest.setdefault(row.kind, row)
    return {
        "runs": list(ImportRun.objects.filter(patient=patient).select_related("created_by").order_by("-created_at")),
        "latest": sorted(latest.values(), key=lambda r: r.label),
        "scores": list(observations.filter(kind__in=("phq-9", "gad-7"))[:10]),
        "medications": list(ImportedMedication.objects.filter(patient=patient).order_by("-authored_on", "-id")[:15]),
    }
