"""Importing patients' FHIR R4 Bundles: the Synthea fixtures import idempotently (a second import adds nothing), a
corrupted copy is refused whole with a report naming each problem and stores nothing, every import is audited, and
the command does the same from files."""

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.interop.domain.bundle import SCORES, parse_bundle, plain_name
from ketacare.interop.models import ExternalIdentity, ImportedMedication, ImportedObservation, ImportRun
from ketacare.interop.services import BundleRefused, bundle_import
from ketacare.patients.models import Patient
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db
SYNTHEA = sorted((Path(__file__).resolve().parents[3] / "fixtures" / "external" / "synthea").glob("*.json"))
TABLES = (Patient, ExternalIdentity, ImportRun, ImportedObservation, ImportedMedication)


def _bundle(name: str) -> dict:
    return json.loads(next(p for p in SYNTHEA if p.name.startswith(name)).read_text())


def _counts():
    return {model.__name__: model.objects.count() for model in TABLES}


@pytest.fixture
def nurse():
    return UserFactory(role=Role.NURSE, clinic=ClinicFactory())


def test_every_synthea_fixture_imports_with_its_vitals_scores_and_medications(nurse):
    assert len(SYNTHEA) == 3
    for path in SYNTHEA:
        bundle = json.loads(path.read_text())
        parsed = parse_bundle(bundle)
        result = bundle_import(actor=nurse, bundle=bundle, source_name=path.name)
        assert result.patient_created and result.run is not None
        resource = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        patient = result.patient
        assert patient.clinic_id == nurse.clinic_id
        assert patient.family_name == plain_name(resource["name"][0]["family"]) and patient.family_name.isalpha()
        assert patient.date_of_birth.isoformat() == resource["birthDate"] and patient.sex == resource["gender"]
        stored = ImportedObservation.objects.filter(patient=patient)
        assert stored.count() == len(parsed.observations) > 0
        assert ImportedMedication.objects.filter(patient=patient).count() == len(parsed.medications)
        codes_sent = {e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]
                      if e["resource"]["resourceType"] == "Observation"}
        assert {o.code for o in stored} == codes_sent & ({"85354-9", "8867-4", "9279-1", "2708-6", "59408-5",
                                                           "29463-7", "8302-2", "8310-5"} | set(SCORES))
        for row in stored.filter(kind="bp")[:5]:
            assert row.systolic > row.diastolic and row.resource["id"] == row.source_id
    huey = Patient.objects.get(family_name="Schmeler")
    assert ImportedObservation.objects.filter(patient=huey, kind="phq-9").exists()
    assert ImportedObservation.objects.filter(patient=huey, kind="gad-7").exists()


def test_importing_again_changes_nothing(nurse):
    for path in SYNTHEA:
        bundle_import(actor=nurse, bundle=json.loads(path.read_text()), source_name=path.name)
    before = _counts()
    for path in SYNTHEA:
        result = bundle_import(actor=nurse, bundle=json.loads(path.read_text()), source_name=path.name)
        assert not result.changed and result.run is None and not result.patient_created
        assert sum(result.already_present.values()) > 0
    assert _counts() == before
    assert AuditEvent.objects.filter(action=AuditAction.FHIR_IMPORTED).count() == 2 * len(SYNTHEA)


def test_a_later_bundle_adds_only_what_is_new(nurse):
    full = _bundle("Huey641")
    early = copy.deepcopy(full)
    early["entry"] = [e for e in full["entry"] if e["resource"]["resourceType"] != "Observation"
                      or e["resource"].get("effectiveDateTime", "") < "2015"]
    first = bundle_import(actor=nurse, bundle=early, source_name="early.json")
    second = bundle_import(actor=nurse, bundle=full, source_name="full.json")
    assert second.patient.pk == first.patient.pk and not second.patient_created
    total = ImportedObservation.objects.filter(patient=first.patient).count()
    assert total == len(parse_bundle(full).observations)
    assert sum(second.added.values()) - second.added.get("medication", 0) == total - sum(
        v for k, v in first.added.items() if k != "medication")


def test_the_same_patient_in_another_clinic_is_another_patient(nurse):
    other = UserFactory(role=Role.NURSE, clinic=ClinicFactory())
    a = bundle_import(actor=nurse, bundle=_bundle("Edward"), source_name="e.json")
    b = bundle_import(actor=other, bundle=_bundle("Edward"), source_name="e.json")
    assert a.patient.pk != b.patient.pk and b.patient_created and b.patient.clinic_id == other.clinic_id


def _corrupt(bundle: dict) -> dict:
    bad = copy.deepcopy(bundle)
    observations = [e["resource"] for e in bad["entry"] if e["resource"]["resourceType"] == "Observation"]
    observations[0]["status"] = 17  # not a code
    observations[1]["valueQuantity"] = {"value": 80, "code": "[lb_av]", "unit": "lb"} if observations[1][
        "code"]["coding"][0]["code"] == "29463-7" else {"value": "heavy"}
    bp = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    systolic = next(c for c in bp["component"] if c["code"]["coding"][0]["code"] == "8480-6")
    systolic["valueQuantity"]["value"] = 40  # systolic below diastolic
    bad["entry"].append({"resource": {"resourceType": "Observation", "id": "x", "status": "final",
                                      "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                                      "effectiveDateTime": "2020-01-01T00:00:00Z", "valueQuantity": {"value": 31}}})
    patient = next(e["resource"] for e in bad["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["birthDate"] = "1990"
    return bad


def test_a_corrupted_bundle_is_refused_whole_with_each_problem_named(nurse):
    before = _counts()
    with pytest.raises(BundleRefused) as refused:
        bundle_import(actor=nurse, bundle=_corrupt(_bundle("Huey641")), source_name="corrupt.json")
    problems = refused.value.problems
    assert _counts() == before, "nothing of a refused bundle is stored"
    text = "\n".join(problems)
    assert "not valid FHIR R4" in text and "status" in text
    assert "not a possible blood pressure" in text
    assert "PHQ-9 total of 31 is outside 0-27" in text
    assert "birthDate must be a full date" in text
    assert len(problems) >= 4
    event = AuditEvent.objects.get(action=AuditAction.FHIR_IMPORT_REFUSED)
    assert event.data["problems"] == len(problems) and event.patient_id is None


@pytest.mark.parametrize(("bundle", "fragment"), [
    ({"resourceType": "Patient"}, "not a FHIR Bundle"),
    ({"resourceType": "Bundle", "type": "transaction", "entry": []}, "exactly one Patient"),
    ([], "not a JSON object"),
])
def test_what_is_not_a_patients_bundle_is_refused(nurse, bundle, fragment):
    with pytest.raises(BundleRefused) as refused:
        bundle_import(actor=nurse, bundle=bundle, source_name="x.json")
    assert any(fragment in p for p in refused.value.problems)


def test_roles_that_may_not_record_clinical_data_may_not_import():
    for role in (Role.FRONT_DESK, Role.RESEARCHER, Role.AUDITOR, Role.CLINIC_ADMIN, Role.THERAPIST):
        with pytest.raises(PermissionDenied):
            bundle_import(actor=UserFactory(role=role), bundle=_bundle("Edward"), source_name="e.json")
    assert _counts()["Patient"] == 0


def test_the_command_imports_files_and_reports_refusals(nurse, tmp_path, capsys):
    call_command("fhir_import", *map(str, SYNTHEA), user=nurse.username)
    out = capsys.readouterr().out
    assert out.count("new patient") == 3
    call_command("fhir_import", str(SYNTHEA[0]), user=nurse.username)
    assert "nothing new" in capsys.readouterr().out
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(json.dumps(_corrupt(_bundle("Huey641"))))
    with pytest.raises(CommandError, match="1 of 1 bundle"):
        call_command("fhir_import", str(corrupt), user=nurse.username)
    assert "not a possible blood pressure" in capsys.readouterr().err


def test_the_chart_shows_the_imported_history_to_clinical_roles_only(client, nurse):
    result = bundle_import(actor=nurse, bundle=_bundle("Huey641"), source_name="huey.json")
    latest_phq = ImportedObservation.objects.filter(patient=result.patient, kind="phq-9").latest("effective_at")
    client.force_login(nurse)
    page = client.get(f"/patients/{result.patient.pk}/").content.decode()
    assert "Records from other systems" in page and "huey.json" in page
    assert f"<td>PHQ-9 total</td><td>{int(latest_phq.value)}</td>" in page
    client.force_login(UserFactory(role=Role.FRONT_DESK, clinic=nurse.clinic))
    assert "Records from other systems" not in client.get(f"/patients/{result.patient.pk}/").content.decode()
