"""FHIR Bulk Data $export: kick-off, the worker writes NDJSON, status with progress, a manifest whose files
validate (fhir.resources and the independent validator), _type and _since, delete; the same role, clinic and
audit rules as the read API."""

import datetime as dt
import json

import pytest
import time_machine
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.interop import bulk
from ketacare.interop.domain import search
from ketacare.interop.models import BulkExport
from ketacare.interop.tests.test_fhir_api import _independent_validation, _validate
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _headers(user, **extra):
    return {"Authorization": f"Bearer {token_create(user=user)}", **extra}


def _kick_off(client, user, url="/fhir/R4/Patient/$export", **params):
    return client.get(url, params, headers=_headers(user, **ASYNC))


def _status_path(response):
    assert response.status_code == 202, response.content
    location = response["Content-Location"]
    assert "/fhir/R4/bulkstatus/" in location
    return location.split("testserver", 1)[1]


def _run_worker():
    """The real worker command, in this process: it runs what is queued and exits."""
    call_command("worker", "--batch", "--no-scheduler", "--interval", "0")


def _download(client, user, manifest):
    """{type: [resources]} from every file of the manifest."""
    out = {}
    headers = _headers(user)
    for item in manifest["output"]:
        response = client.get(item["url"].split("testserver", 1)[1], headers=headers)
        assert response.status_code == 200 and response["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == item["count"]
        out.setdefault(item["type"], []).extend(json.loads(line) for line in lines)
    return out


def test_an_export_runs_in_the_worker_and_its_files_validate(client, record):
    prescriber, patient = record["prescriber"], record["patient"]
    other = PatientFactory(clinic=patient.clinic)  # a patient with no treatment: a Patient line only
    status_path = _status_path(_kick_off(client, prescriber))
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "ketacare.interop.tasks.run_bulk_export"
    pending = client.get(status_path, headers=_headers(prescriber))
    assert pending.status_code == 202 and pending["X-Progress"] == "queued" and pending["Retry-After"]

    _run_worker()
    done = client.get(status_path, headers=_headers(prescriber))
    assert done.status_code == 200, done.content
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"].endswith("/fhir/R4/Patient/$export")
    types = {item["type"] for item in manifest["output"]}
    assert types == {"Patient", "Observation", "QuestionnaireResponse", "Encounter", "MedicationAdministration",
                     "Flag"}
    files = _download(client, prescriber, manifest)
    assert sorted(p["id"] for p in files["Patient"]) == sorted([str(patient.pk), str(other.pk)])
    # The resources the read API serves for the patient, and those entered in error too (an export is a copy).
    for kind, resources in files.items():
        if kind == "Patient":
            continue
        served = client.get(f"/fhir/R4/{kind}", {"patient": patient.pk, "_count": search.MAX_COUNT},
                            headers=_headers(prescriber)).json()
        served_ids = {e["resource"]["id"] for e in served.get("entry", [])}
        exported = {r["id"]: r for r in resources}
        assert served_ids <= exported.keys(), kind
        assert all(r["status"] == "entered-in-error" for i, r in exported.items() if i not in served_ids), kind
    everything = [r for resources in files.values() for r in resources]
    for resource in everything:
        _validate(resource)
    assert [r for r in _independent_validation(everything) if not r["ok"]] == []
    # Audited: the kick-off, one read per patient, the completion, each download.
    actions = list(AuditEvent.objects.filter(actor=prescriber).values_list("action", "patient_id"))
    assert (AuditAction.FHIR_BULK_EXPORT_REQUESTED, None) in actions
    assert {p for a, p in actions if a == AuditAction.FHIR_READ} == {patient.pk, other.pk}
    assert [a for a, _ in actions].count(AuditAction.FHIR_BULK_EXPORT_DOWNLOADED) == len(manifest["output"])
    assert (AuditAction.FHIR_BULK_EXPORT_COMPLETED, None) in actions


def test_type_and_since_filter_and_transaction_time_bounds_the_export(client, record):
    prescriber = record["prescriber"]
    first = _status_path(_kick_off(client, prescriber, _type="Observation,Flag"))
    _run_worker()
    manifest = client.get(first, headers=_headers(prescriber)).json()
    assert {item["type"] for item in manifest["output"]} == {"Observation", "Flag"}
    everything = _download(client, prescriber, manifest)
    since = max(r["meta"]["lastUpdated"] for rs in everything.values() for r in rs)
    # _since: only what changed at or after the instant (the newest resource's time keeps at least that one).
    path = _status_path(_kick_off(client, prescriber, _type="Observation,Flag", _since=since))
    _run_worker()
    newer = _download(client, prescriber, client.get(path, headers=_headers(prescriber)).json())
    kept = [r for rs in newer.values() for r in rs]
    assert kept and all(r["meta"]["lastUpdated"] >= since for r in kept)
    assert len(kept) < sum(len(rs) for rs in everything.values())
    # transactionTime is the kick-off: the next export from it misses nothing recorded after.
    assert dt.datetime.fromisoformat(manifest["transactionTime"]) <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(("params", "headers", "message"), [
    ({}, {"Accept": "application/fhir+json"}, "Prefer: respond-async"),
    ({"_type": "Practitioner"}, ASYNC, "_type: Practitioner cannot be exported"),
    ({"_since": "2026-01-01"}, ASYNC, "needs a time and a time zone"),
    ({"_since": "yesterday"}, ASYNC, "is not a FHIR instant"),
    ({"_since": "2999-01-01T00:00:00Z"}, ASYNC, "in the future"),
    ({"_outputFormat": "text/csv"}, ASYNC, "only NDJSON"),
    ({"_elements": "id"}, ASYNC, "'_elements' is not supported"),
])
def test_a_kick_off_the_server_cannot_honour_is_refused_with_the_reason_and_queues_nothing(
        client, record, params, headers, message):
    response = client.get("/fhir/R4/Patient/$export", params, headers=_headers(record["prescriber"], **headers))
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and message in outcome["issue"][0]["diagnostics"]
    assert not BulkExport.objects.exists() and not DBTaskResult.objects.exists()


def test_roles_clinics_and_other_clients_are_kept_out(client, record):
    prescriber, nurse = record["prescriber"], record["nurse"]
    # A nurse reads charts but may not export the clinic; no sign-in is 401; both as OperationOutcomes.
    assert _kick_off(client, nurse).status_code == 403
    assert client.get("/fhir/R4/Patient/$export", headers=ASYNC).status_code == 401
    status_path = _status_path(_kick_off(client, prescriber, url="/fhir/R4/$export"))
    _run_worker()
    manifest = client.get(status_path, headers=_headers(prescriber)).json()
    file_path = manifest["output"][0]["url"].split("testserver", 1)[1]
    # Another prescriber, of this clinic or another, sees neither the status nor the files: 404, as absent.
    for stranger in (UserFactory(clinic=prescriber.clinic, role=Role.PRESCRIBER), UserFactory(role=Role.PRESCRIBER)):
        assert client.get(status_path, headers=_headers(stranger)).status_code == 404
        assert client.get(file_path, headers=_headers(stranger)).status_code == 404
        assert client.delete(status_path, headers=_headers(stranger)).status_code == 404
    assert "Questionnaire" in {item["type"] for item in manifest["output"]}  # the system level has definitions


def test_delete_removes_the_files_and_the_status(client, record):
    prescriber = record["prescriber"]
    status_path = _status_path(_kick_off(client, prescriber, url="/fhir/R4/Group/all-patients/$export"))
    _run_worker()
    manifest = client.get(status_path, headers=_headers(prescriber)).json()
    export = BulkExport.objects.get()
    assert export.level == "group" and any(bulk.export_dir(export).iterdir())
    assert client.delete(status_path, headers=_headers(prescriber)).status_code == 202
    assert not bulk.export_dir(export).exists()
    assert client.get(status_path, headers=_headers(prescriber)).status_code == 404
    assert client.get(manifest["output"][0]["url"].split("testserver", 1)[1],
                      headers=_headers(prescriber)).status_code == 404
    assert _kick_off(client, prescriber, url="/fhir/R4/Group/nobody/$export").status_code == 404


def test_the_sweep_expires_files_and_restarts_an_export_whose_worker_died(client, record):
    prescriber = record["prescriber"]
    status_path = _status_path(_kick_off(client, prescriber))
    DBTaskResult.objects.all().delete()  # the worker took the task and died before writing anything
    export = BulkExport.objects.get()
    with time_machine.travel(export.updated_at + bulk.STALE_AFTER + dt.timedelta(seconds=1)):
        assert bulk.sweep(bulk.clock.now()) == {"expired": 0, "restarted": 1}
    _run_worker()
    assert client.get(status_path, headers=_headers(prescriber)).status_code == 200
    export.refresh_from_db()
    with time_machine.travel(export.expires_at + dt.timedelta(seconds=1)):
        assert bulk.sweep(bulk.clock.now()) == {"expired": 1, "restarted": 0}
    assert not bulk.export_dir(export).exists()
    assert client.get(status_path, headers=_headers(prescriber)).status_code == 404
