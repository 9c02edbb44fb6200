"""The FHIR R4 read API against a real treated patient: every resource validates with fhir.resources (R4B), codes
are the domain file's, the same role / clinic / audit rules as the rest of KetaCare, searches that filter and page,
and errors that are OperationOutcomes."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
DOMAIN_FILE = Path(__file__).resolve().parents[3] / "docs" / "domain" / "fhir-mapping.md"
VALIDATOR = Path(__file__).resolve().parents[3] / "tests" / "fhir_validator" / "validate.mjs"
CLINICAL = ("Observation", "QuestionnaireResponse", "Encounter", "MedicationAdministration", "Flag")


def _get(client, url, user=None, **params):
    headers = {"Authorization": f"Bearer {token_create(user=user)}"} if user else {}
    return client.get(url, params, headers=headers)


def _search(client, user, resource_type, patient, **params):
    response = _get(client, f"/fhir/R4/{resource_type}", user, patient=patient.pk, **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


def _validate(resource):
    model = get_fhir_model_class(resource["resourceType"])
    return model.model_validate(resource)


def test_every_resource_of_the_record_validates_as_fhir_r4(client, record):
    nurse, patient = record["nurse"], record["patient"]
    seen = {}
    for resource_type in CLINICAL:
        bundle = _search(client, nurse, resource_type, patient, _count=500, _include=f"{resource_type}:patient")
        _validate(bundle)
        for entry in bundle["entry"]:
            _validate(entry["resource"])
            assert entry["fullUrl"].endswith(f"/{entry['resource']['resourceType']}/{entry['resource']['id']}")
        seen[resource_type] = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
        assert [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "include"] == [str(patient.pk)]
    patient_resource = _get(client, f"/fhir/R4/Patient/{patient.pk}", nurse).json()
    _validate(patient_resource)
    assert patient_resource["name"][0]["family"] == patient.family_name
    assert patient_resource["birthDate"] == patient.date_of_birth.isoformat()
    # The record is all there: both devices of the 56 mg starting dose, vitals of several kinds, the alert.
    assert [d["dosage"]["text"] for d in seen["MedicationAdministration"]] == ["device 1", "device 2"]
    assert {o["id"].rsplit("-", 1)[1] for o in seen["Observation"] if o["id"].startswith("vitals-")} == {
        "bp", "hr", "rr", "spo2"}
    assert any(f["code"]["coding"][0]["code"] == "phq9.item9_positive" or "item9" in f["code"]["coding"][0]["code"]
               for f in seen["Flag"])
    walked = next(e for e in seen["Encounter"] if e["id"] == str(record["session"].pk))
    assert walked["status"] == "finished" and "end" in walked["period"]
    assert {e["status"] for e in seen["Encounter"] if e is not walked} == {"planned"}  # the course's later sessions
    _validate(_get(client, "/fhir/R4/metadata").json())
    for questionnaire in _get(client, "/fhir/R4/Questionnaire", nurse).json()["entry"]:
        _validate(questionnaire["resource"])


def _independent_validation(resources: list[dict]) -> list[dict]:
    """Medplum's validateResource (Node.js, R4 StructureDefinitions): scripts/ensure-system.sh installs it."""
    assert shutil.which("node"), "Node.js runs the independent FHIR validator"
    assert (VALIDATOR.parent / "node_modules").is_dir(), "run scripts/ensure-system.sh (npm ci of tests/fhir_validator)"
    ndjson = "".join(json.dumps(resource) + "\n" for resource in resources)
    done = subprocess.run(["node", str(VALIDATOR)], input=ndjson, capture_output=True, text=True, timeout=120,
                          check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_an_independent_validator_accepts_every_resource_and_refuses_a_broken_one(client, record):
    nurse, patient = record["nurse"], record["patient"]
    resources = [_get(client, "/fhir/R4/metadata").json(), _get(client, f"/fhir/R4/Patient/{patient.pk}", nurse).json()]
    for resource_type in CLINICAL:
        bundle = _search(client, nurse, resource_type, patient, _count=500)
        resources += [bundle] + [e["resource"] for e in bundle["entry"]]
    resources.append(_get(client, "/fhir/R4/Patient/0", nurse).json())  # an OperationOutcome
    broken = {**resources[1], "birthDate": ["not", "a", "date"], "nickname": "x"}
    results = _independent_validation([*resources, broken])
    assert len(results) == len(resources) + 1
    assert [r for r in results[:-1] if not r["ok"]] == []
    assert not results[-1]["ok"] and any("nickname" in issue for issue in results[-1]["issues"])
    assert {r["id"].split("/")[0] for r in results} >= {"CapabilityStatement", "Patient", "Bundle", "OperationOutcome",
                                                         *CLINICAL}


def _loinc_codes_in_domain_file() -> set[str]:
    return set(re.findall(r"\b\d{4,5}-\d\b", DOMAIN_FILE.read_text()))


def test_codes_and_units_are_the_domain_files(client, record):
    """fhir-mapping.md §2 (vital signs: LOINC and UCUM) and §3 (PHQ-9 total 44261-6, derived from the response)."""
    nurse, patient = record["nurse"], record["patient"]
    observations = _search(client, nurse, "Observation", patient, _count=500)["entry"]
    known = _loinc_codes_in_domain_file()
    for entry in observations:
        resource = entry["resource"]
        for coding in resource["code"]["coding"]:
            if coding["system"] == "http://loinc.org":
                assert coding["code"] in known, coding
    bp = next(e["resource"] for e in observations if e["resource"]["id"].endswith("-bp"))
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    assert bp["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in bp["component"]}
    assert set(components) == {"8480-6", "8462-4"}
    assert {q["code"] for q in components.values()} == {"mm[Hg]"}
    assert {q["system"] for q in components.values()} == {"http://unitsofmeasure.org"}
    assert components["8480-6"]["value"] == 128 and components["8462-4"]["value"] == 82
    phq = [e["resource"] for e in observations if e["resource"]["code"]["coding"][0]["code"] == "44261-6"]
    assert phq, "a PHQ-9 total Observation"
    for total in phq:
        assert total["category"][0]["coding"][0]["code"] == "survey"
        source = total["derivedFrom"][0]["reference"]
        assert source.startswith("QuestionnaireResponse/")
        assert _get(client, f"/fhir/R4/{source}", nurse).status_code == 200
    doses = _search(client, nurse, "MedicationAdministration", patient)["entry"]
    dose = doses[0]["resource"]
    assert dose["dosage"]["route"]["coding"][0]["code"] == "46713006"  # nasal route, §1
    assert dose["dosage"]["dose"] == {"value": 28, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dose["contained"][0]["batch"]["lotNumber"] == "LOT-ESK-1"
    assert dose["context"]["reference"] == f"Encounter/{record['session'].pk}"


def test_corrections_show_as_amended_and_the_original_as_entered_in_error(client, record):
    nurse, patient, wrong, amended = record["nurse"], record["patient"], record["wrong"], record["amended"]
    listed = {e["resource"]["id"]: e["resource"]
              for e in _search(client, nurse, "QuestionnaireResponse", patient)["entry"]}
    assert str(wrong.pk) not in listed, "a superseded response is not part of the record's current state"
    assert listed[str(amended.pk)]["status"] == "amended"
    original = _get(client, f"/fhir/R4/QuestionnaireResponse/{wrong.pk}", nurse).json()
    assert original["status"] == "entered-in-error"
    everything = _search(client, nurse, "QuestionnaireResponse", patient, status="entered-in-error")["entry"]
    assert [e["resource"]["id"] for e in everything] == [str(wrong.pk)]


def test_every_listed_resource_reads_back_by_its_id(client, record):
    nurse, patient = record["nurse"], record["patient"]
    for resource_type in CLINICAL:
        for entry in _search(client, nurse, resource_type, patient, _count=500)["entry"]:
            resource = entry["resource"]
            response = _get(client, f"/fhir/R4/{resource_type}/{resource['id']}", nurse)
            assert response.status_code == 200 and response.json() == resource


@pytest.mark.parametrize("role", list(Role))
def test_roles_clinics_and_anonymous_get_operation_outcomes(client, record, role):
    patient = record["patient"]
    user = UserFactory(role=role, clinic=patient.clinic)
    foreign = PatientFactory()
    foreign_user = UserFactory(role=role, clinic=foreign.clinic)
    clinical = role in (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST)
    may_read_patient = role in (Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.FRONT_DESK, Role.CLINIC_ADMIN)
    response = _get(client, f"/fhir/R4/Patient/{patient.pk}", user)
    assert response.status_code == (200 if may_read_patient else 403)
    for resource_type in CLINICAL:
        response = _get(client, f"/fhir/R4/{resource_type}", user, patient=patient.pk)
        assert response.status_code == (200 if clinical else 403), (role, resource_type)
        if not clinical:
            body = response.json()
            assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "forbidden"
            _validate(body)
        # Another clinic's user: the patient does not exist for them (404), whatever the role may read.
        response = _get(client, f"/fhir/R4/{resource_type}", foreign_user, patient=patient.pk)
        assert response.status_code == (404 if clinical else 403), (role, resource_type)
    if clinical:
        nurse_entries = _search(client, record["nurse"], "Observation", patient)["entry"]
        ident = nurse_entries[0]["resource"]["id"]
        assert _get(client, f"/fhir/R4/Observation/{ident}", foreign_user).status_code == 404


def test_without_credentials_every_route_is_401_and_metadata_is_public(client, record):
    patient = record["patient"]
    for url in [f"/fhir/R4/Patient/{patient.pk}", "/fhir/R4/Patient", f"/fhir/R4/Observation?patient={patient.pk}",
                "/fhir/R4/Questionnaire"]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.json()["issue"][0]["code"] == "login"
    bad = client.get("/fhir/R4/Patient", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert client.get("/fhir/R4/metadata").status_code == 200


def test_a_signed_in_session_reads_as_its_role(client, record):
    client.force_login(record["nurse"])
    response = client.get(f"/fhir/R4/Encounter?patient={record['patient'].pk}&status=finished")
    assert response.status_code == 200
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [str(record["session"].pk)]


def test_every_read_and_search_is_audited_per_patient(client, record):
    nurse, patient = record["nurse"], record["patient"]
    before = AuditEvent.objects.filter(action=AuditAction.FHIR_READ).count()
    _search(client, nurse, "Observation", patient)
    _get(client, f"/fhir/R4/Patient/{patient.pk}", nurse)
    other = PatientFactory(clinic=patient.clinic)
    listed = _get(client, "/fhir/R4/Patient", nurse).json()
    events = list(AuditEvent.objects.filter(action=AuditAction.FHIR_READ).order_by("id")[before:])
    assert [(e.patient_id, e.data["type"], e.data["interaction"]) for e in events] == [
        (patient.pk, "Observation", "search"), (patient.pk, "Patient", "read"),
        (patient.pk, "Patient", "search"), (other.pk, "Patient", "search")]
    assert listed["total"] == 2
    assert all(e.actor_id == nurse.pk and e.clinic_id == patient.clinic_id for e in events)


def test_searches_filter_by_date_code_and_last_updated(client, record):
    nurse, patient = record["nurse"], record["patient"]
    everything = _search(client, nurse, "Observation", patient, _count=500)["entry"]
    first_day = _search(client, nurse, "Observation", patient, date="2026-03-02", _count=500)["entry"]
    later = _search(client, nurse, "Observation", patient, date="ge2026-03-03", _count=500)["entry"]
    assert first_day and later and len(first_day) + len(later) == len(everything)
    assert all(e["resource"]["effectiveDateTime"].startswith("2026-03-02") for e in first_day)
    window = _search(client, nurse, "Observation", patient, date=["ge2026-03-03", "lt2026-03-04"])["entry"]
    assert [e["resource"]["effectiveDateTime"][:10] for e in window] == ["2026-03-03"]
    phq = _search(client, nurse, "Observation", patient, code="http://loinc.org|44261-6")["entry"]
    assert phq and all(e["resource"]["code"]["coding"][0]["code"] == "44261-6" for e in phq)
    assert _search(client, nurse, "Observation", patient, code="http://example.org|44261-6")["total"] == 0
    vitals = _search(client, nurse, "Observation", patient, category="vital-signs", _count=500)["entry"]
    assert vitals and all(e["resource"]["id"].startswith("vitals-") for e in vitals)
    assert _search(client, nurse, "Observation", patient, _lastUpdated="gt2026-03-05")["total"] == 0


def test_paging_follows_next_links_to_every_match_once(client, record):
    nurse, patient = record["nurse"], record["patient"]
    total = _search(client, nurse, "Observation", patient, _count=500)["total"]
    assert total > 7
    ids, url = [], f"/fhir/R4/Observation?patient={patient.pk}&_count=3"
    while url:
        bundle = client.get(url, headers={"Authorization": f"Bearer {token_create(user=nurse)}"}).json()
        assert bundle["total"] == total and len(bundle["entry"]) <= 3
        ids += [e["resource"]["id"] for e in bundle["entry"]]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert len(ids) == total == len(set(ids))


@pytest.mark.parametrize(("query", "fragment"), [
    ({"patient": "1", "colour": "red"}, "colour"),
    ({"patient": "1", "date": "yesterday"}, "not a FHIR date"),
    ({"patient": "1", "date": "ne2026-03-02"}, "prefix"),
    ({"patient": "1", "date": "2026-02-30"}, "not a valid date"),
    ({"patient": "1", "_count": "0"}, "_count"),
    ({"patient": "1", "_count": "100000"}, "_count"),
    ({"patient": "1", "code:text": "phq"}, "code:text"),
    ({"patient": "1", "_include": "Observation:performer"}, "_include"),
    ({}, "patient=<id>"),
])
def test_bad_searches_are_400_operation_outcomes_naming_the_problem(client, record, query, fragment):
    query = {k: (str(record["patient"].pk) if k == "patient" else v) for k, v in query.items()}
    response = _get(client, "/fhir/R4/Observation", record["nurse"], **query)
    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "invalid"
    assert fragment in body["issue"][0]["diagnostics"]
    _validate(body)


def test_unknown_types_and_ids_are_404(client, record):
    nurse = record["nurse"]
    assert _get(client, "/fhir/R4/Medication", nurse).json()["issue"][0]["code"] == "not-supported"
    for url in ["/fhir/R4/Patient/abc", "/fhir/R4/Patient/99999999", "/fhir/R4/Observation/vitals-1",
                "/fhir/R4/Observation/score-1-bp", "/fhir/R4/Encounter/99999999", "/fhir/R4/Flag/x"]:
        response = _get(client, url, nurse)
        assert response.status_code == 404, url
        assert response.json()["resourceType"] == "OperationOutcome"
    assert client.post(f"/fhir/R4/Patient/{record['patient'].pk}").status_code == 405


def test_a_refused_character_in_a_search_is_an_operation_outcome(client, record):
    response = _get(client, "/fhir/R4/Patient", record["nurse"], name="Ann\u202eie")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and "U+202E" in outcome["issue"][0]["diagnostics"]
