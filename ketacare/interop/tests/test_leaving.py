"""Leaving KetaCare: the clinic admin takes the clinic's whole record (FHIR NDJSON + a CSV per clinic table, the
ledger and audit trail included, with a manifest of digests); nothing of another clinic and no credential is in
it; the clinical part imports into another KetaCare clinic through the FHIR import."""

import csv
import hashlib
import json

import pytest
from django.core.management import CommandError, call_command
from fhir.resources.R4B import get_fhir_model_class

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.interop import leaving
from ketacare.interop.models import ImportedObservation
from ketacare.interop.services import bundle_import
from ketacare.patients.models import Patient
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def export(record, tmp_path):
    clinic = record["patient"].clinic
    admin = UserFactory(clinic=clinic, role=Role.CLINIC_ADMIN)
    stranger = PatientFactory(given_name="Zebulon", family_name="Otherclinic")  # another clinic's patient
    out = tmp_path / "leaving"
    manifest = leaving.clinic_export(actor=admin, out=out)
    return {**record, "admin": admin, "out": out, "manifest": manifest, "stranger": stranger}


def test_every_file_is_in_the_manifest_with_its_rows_and_digest(export):
    out, manifest = export["out"], export["manifest"]
    assert json.loads((out / "manifest.json").read_text()) == manifest
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    for f in manifest["files"]:
        data = (out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
        lines = data.decode().splitlines()
        assert len(lines) == f["rows"] + (1 if f["path"].endswith(".csv") else 0)  # CSVs have a header row


def test_every_clinic_table_is_there_with_all_its_rows_the_audit_trail_included(export):
    out, clinic = export["out"], export["patient"].clinic
    tables = {f["path"]: f["rows"] for f in export["manifest"]["files"] if f["path"].startswith("tables/")}
    for model in leaving.clinic_tables():
        path = f"tables/{model._meta.label_lower}.csv"
        assert tables[path] == model._base_manager.filter(clinic_id=clinic.pk).count(), path
    assert "tables/core.clinic.csv" in tables and "tables/ledger.ledgerentry.csv" in tables
    with (out / "tables" / "audit.auditevent.csv").open() as f:
        actions = [row["action"] for row in csv.DictReader(f)]
    assert AuditAction.CLINIC_EXPORTED in actions  # the trail ends with its own export
    assert AuditEvent.objects.filter(action=AuditAction.CLINIC_EXPORTED, actor=export["admin"]).count() == 1


def test_no_other_clinic_and_no_credential_is_in_the_export(export):
    out, stranger = export["out"], export["stranger"]
    text = "\n".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert stranger.family_name not in text and stranger.mrn not in text
    assert "argon2" not in text and "pbkdf2" not in text  # no password hash
    with (out / "tables" / "accounts.user.csv").open() as f:
        header = next(csv.reader(f))
    assert "password" not in header and "username" in header
    assert export["patient"].family_name in text  # the clinic's own patients are


def test_the_fhir_part_validates_and_holds_each_patients_record(export):
    out, patient = export["out"], export["patient"]
    by_type = {p.stem: [json.loads(line) for line in p.read_text().splitlines()] for p in (out / "fhir").iterdir()}
    assert {"Patient", "Observation", "QuestionnaireResponse", "Encounter", "MedicationAdministration", "Flag",
            "Questionnaire"} <= set(by_type)
    for resources in by_type.values():
        for resource in resources:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert {p["id"] for p in by_type["Patient"]} == {str(p.pk) for p in Patient.objects.filter(clinic=patient.clinic)}


def test_the_clinical_part_imports_into_another_ketacare_clinic(export):
    """The restore: each patient's Patient and Observations as a Bundle into a new clinic's FHIR import."""
    out, patient = export["out"], export["patient"]
    by_type = {p.stem: [json.loads(line) for line in p.read_text().splitlines()] for p in (out / "fhir").iterdir()}
    nurse = UserFactory(role=Role.NURSE)  # of a new clinic
    ours = [o for o in by_type["Observation"] if o["subject"]["reference"] == f"Patient/{patient.pk}"]
    source = next(p for p in by_type["Patient"] if p["id"] == str(patient.pk))
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in [source, *ours]]}
    result = bundle_import(actor=nurse, bundle=bundle, source_name="leaving/fhir")
    copy = Patient.objects.get(pk=result.patient.pk)
    assert copy.clinic_id == nurse.clinic_id and copy.date_of_birth == patient.date_of_birth
    assert copy.family_name == patient.family_name
    imported = ImportedObservation.objects.filter(patient=copy)
    exported_scores = [o for o in ours if o["id"].startswith("score-") and o["status"] != "entered-in-error"
                       and o["code"]["coding"][0]["code"] in ("44261-6", "70274-6")]
    assert exported_scores and imported.filter(kind__in=("phq-9", "gad-7")).count() == len(exported_scores)
    assert imported.exclude(kind__in=("phq-9", "gad-7")).exists()  # the vital signs came too


def test_only_a_clinic_admin_may_take_it_into_a_new_directory(record, tmp_path):
    with pytest.raises(PermissionDenied):
        leaving.clinic_export(actor=record["nurse"], out=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    admin = UserFactory(clinic=record["patient"].clinic, role=Role.CLINIC_ADMIN)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("clinic_export", "--user", admin.username, "--out", str(tmp_path / "full"))
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    call_command("clinic_export", "--user", admin.username, "--out", str(tmp_path / "new"))
    assert (tmp_path / "new" / "manifest.json").is_file()
