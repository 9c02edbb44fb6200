"""The audit trail: exactly the expected events for every patient view and change; nobody can alter it."""

import pytest

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent, AuditImmutable
from ketacare.audit.services import audit_record
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

FORM = {"given_name": "Avery", "family_name": "Lindgren", "date_of_birth": "1984-03-09", "sex": "female"}


def actions(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_each_patient_page_writes_exactly_its_events(client):
    nurse = UserFactory(role=Role.NURSE)
    client.force_login(nurse)
    client.post("/patients/new/", FORM, REMOTE_ADDR="10.1.2.3", HTTP_X_REQUEST_ID="req-create-0001")
    created = AuditEvent.objects.get()
    pid = created.patient_id
    assert (created.action, created.actor, created.actor_role, created.clinic_id, created.ip, created.request_id) == (
        AuditAction.PATIENT_CREATED, nurse, "nurse", nurse.clinic_id, "10.1.2.3", "req-create-0001")
    assert created.target_type == "patients.patient" and created.target_id == str(pid)

    client.get(f"/patients/{pid}/")
    assert actions() == [AuditAction.PATIENT_CREATED, AuditAction.PATIENT_VIEWED]
    client.get(f"/patients/{pid}/edit/")  # opening the form shows the record: a read of its own
    client.post(f"/patients/{pid}/edit/", {**FORM, "mrn": created_mrn(pid), "given_name": "Avery-Jo"})
    assert actions(patient_id=pid) == [AuditAction.PATIENT_CREATED, AuditAction.PATIENT_VIEWED,
                                       AuditAction.PATIENT_VIEWED, AuditAction.PATIENT_UPDATED]
    assert AuditEvent.objects.filter(patient_id=pid).order_by("id")[2].data == {"via": "edit-form"}
    client.post("/patients/", {"q": "Lindgren"})
    assert actions()[-1] == AuditAction.PATIENTS_LISTED
    assert AuditEvent.objects.order_by("id").last().data == {"query": "Lindgren", "count": 1, "via": "page"}


def created_mrn(pid):
    from ketacare.patients.models import Patient

    return Patient.objects.get(pk=pid).mrn


def test_response_carries_the_request_id_the_audit_row_records(client):
    nurse = UserFactory()
    patient = PatientFactory(clinic=nurse.clinic)
    client.force_login(nurse)
    response = client.get(f"/patients/{patient.pk}/")
    assert AuditEvent.objects.get(action=AuditAction.PATIENT_VIEWED).request_id == response["X-Request-ID"]


def test_application_refuses_to_change_or_delete_audit_events():
    event = audit_record(actor=UserFactory(), action=AuditAction.PATIENT_VIEWED, patient_id=1)
    event.action = AuditAction.PATIENT_CREATED
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == AuditAction.PATIENT_VIEWED


def test_auditor_sees_own_clinic_events_filtered_and_viewing_is_audited(client):
    auditor = UserFactory(role=Role.AUDITOR)
    nurse = UserFactory(clinic=auditor.clinic, username="nurse-a")
    stranger = UserFactory(clinic=ClinicFactory(), username="nurse-b")
    audit_record(actor=nurse, action=AuditAction.PATIENT_VIEWED, patient_id=11)
    audit_record(actor=nurse, action=AuditAction.PATIENT_UPDATED, patient_id=12)
    audit_record(actor=stranger, action=AuditAction.PATIENT_VIEWED, patient_id=13)
    client.force_login(auditor)
    page = client.get("/audit/").context["page"]
    assert {e.patient_id for e in page.object_list if e.action != AuditAction.AUDIT_VIEWED} == {11, 12}
    filtered = client.get("/audit/", {"username": "nurse-a", "action": "patient_viewed"}).context["page"]
    assert [e.patient_id for e in filtered.object_list] == [11]
    by_patient = client.get("/audit/", {"patient_id": 12}).context["page"]
    assert [e.action for e in by_patient.object_list] == [AuditAction.PATIENT_UPDATED]
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_VIEWED, actor=auditor).count() == 3


def test_audit_filter_rejects_inverted_dates(client):
    client.force_login(UserFactory(role=Role.AUDITOR))
    response = client.get("/audit/", {"since": "2026-02-01", "until": "2026-01-01"})
    assert "must be on or before" in response.content.decode()


def test_audit_csv_export_is_itself_audited(client):
    auditor = UserFactory(role=Role.AUDITOR)
    audit_record(actor=UserFactory(clinic=auditor.clinic), action=AuditAction.PATIENT_VIEWED, patient_id=5)
    client.force_login(auditor)
    response = client.get("/audit/", {"format": "csv"})
    assert response["Content-Type"] == "text/csv"
    rows = b"".join(response.streaming_content if response.streaming else [response.content]).decode().splitlines()
    assert rows[0].startswith("at,user,role,action")
    assert [row.split(",")[3] for row in rows[1:]] == ["audit_exported", "patient_viewed"]
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED, actor=auditor).exists()


def test_auditor_never_sees_another_clinics_patient_events_or_failed_logins(client):
    auditor = UserFactory(role=Role.AUDITOR)
    stranger = UserFactory(clinic=ClinicFactory(), username="far-away")
    audit_record(actor=None, username="system", clinic_id=None, action=AuditAction.PATIENT_VIEWED, patient_id=77)
    client.post("/accounts/login/", {"username": "far-away", "password": "wrong"})
    client.post("/accounts/login/", {"username": "nobody-at-all", "password": "wrong"})
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED, actor_username="far-away").clinic_id == \
        stranger.clinic_id
    client.force_login(auditor)
    shown = client.get("/audit/").context["page"].object_list
    # neither the other clinic's failure nor the one for a name matching no account (kept as a keyed digest only)
    assert not [e for e in shown if e.action == AuditAction.LOGIN_FAILED]
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, clinic__isnull=True).get().actor_username == ""
    assert 77 not in {e.patient_id for e in shown}
