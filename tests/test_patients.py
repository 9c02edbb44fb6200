"""Patient list, search, chart, create and edit: scoped to the clinic, validated, audited."""

import datetime as dt

import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.patients.models import Patient
from ketacare.patients.services import patient_create, patient_update
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = {"given_name": "Avery", "family_name": "Lindgren", "date_of_birth": "1984-03-09", "sex": "female",
         "phone": "+1 617 555 0100", "email": "avery@example.com", "postal_code": "02115"}


@pytest.fixture
def nurse():
    return UserFactory(role=Role.NURSE)


def test_create_assigns_next_mrn_of_the_clinic_and_audits(nurse):
    first = patient_create(actor=nurse, given_name="Avery", family_name="Lindgren",
                           date_of_birth=dt.date(1984, 3, 9), sex="female")
    second = patient_create(actor=nurse, given_name="Blake", family_name="Moreau",
                            date_of_birth=dt.date(1990, 1, 1), sex="male")
    code = nurse.clinic.code.upper()
    assert (first.mrn, second.mrn) == (f"{code}-000001", f"{code}-000002")
    assert first.clinic_id == nurse.clinic_id
    events = AuditEvent.objects.filter(action=AuditAction.PATIENT_CREATED).order_by("id")
    assert [e.patient_id for e in events] == [first.pk, second.pk]
    assert events[0].actor == nurse and events[0].actor_role == "nurse" and events[0].clinic_id == nurse.clinic_id


def test_update_keeps_previous_values_in_the_audit_row(nurse):
    patient = PatientFactory(clinic=nurse.clinic, phone="+1 617 555 0100")
    patient_update(actor=nurse, patient=patient, phone="+1 617 555 0199")
    event = AuditEvent.objects.get(action=AuditAction.PATIENT_UPDATED)
    assert event.data == {"changed": {"phone": ["+1 617 555 0100", "+1 617 555 0199"]}}


def test_update_without_change_writes_nothing(nurse):
    patient = PatientFactory(clinic=nurse.clinic)
    patient_update(actor=nurse, patient=patient, given_name=patient.given_name)
    assert not AuditEvent.objects.exists()


def test_service_refuses_fields_it_does_not_own(nurse):
    with pytest.raises(ValidationError) as exc:
        patient_create(actor=nurse, given_name="A", family_name="B", date_of_birth=dt.date(1980, 1, 1),
                       sex="female", clinic_id=999)
    assert "clinic_id" in exc.value.message_dict
    assert not Patient.objects.exists()


BAD_INPUT = [
    ({"given_name": ""}, "given_name", "This field is required"),
    ({"family_name": "   "}, "family_name", "This field is required"),
    ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
    ({"date_of_birth": "1850-05-05"}, "date_of_birth", "1900 or later"),
    ({"date_of_birth": "1990-02-30"}, "date_of_birth", "Enter a valid date"),
    ({"given_name": "A" * 10_000}, "given_name", "at most 100 characters"),
    ({"address_line": "x" * 10_000}, "address_line", "at most 200 characters"),
    ({"given_name": "<script>alert(1)</script>"}, "given_name", "letters, spaces"),
    ({"city": "<script>alert(1)</script>"}, "city", "Angle brackets"),
    ({"email": "not-an-email"}, "email", "valid email"),
    ({"phone": "call me"}, "phone", "phone number"),
    ({"postal_code": "ABCDE"}, "postal_code", "ZIP"),
    ({"sex": "dragon"}, "sex", "valid choice"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_INPUT)
def test_bad_input_on_the_form_gets_a_field_error_and_stores_nothing(client, nurse, change, field, message):
    client.force_login(nurse)
    response = client.post("/patients/new/", {**VALID, **change})
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.PATIENT_CREATED).exists()
    assert b"<script>alert(1)</script>" not in response.content


def test_script_in_edit_is_refused_and_the_record_is_unchanged(client, nurse):
    patient = PatientFactory(clinic=nurse.clinic, given_name="Avery")
    client.force_login(nurse)
    response = client.post(f"/patients/{patient.pk}/edit/", {
        **VALID, "mrn": patient.mrn, "given_name": "<img src=x onerror=alert(1)>"})
    assert response.status_code == 422
    assert b"<img src=x" not in response.content
    assert b"&lt;img src=x onerror=alert(1)&gt;" in response.content
    patient.refresh_from_db()
    assert patient.given_name == "Avery"
    assert not AuditEvent.objects.filter(action=AuditAction.PATIENT_UPDATED).exists()


def test_create_through_the_page_opens_the_new_chart(client, nurse):
    client.force_login(nurse)
    response = client.post("/patients/new/", VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert patient.given_name == "Avery" and patient.date_of_birth == dt.date(1984, 3, 9)


def test_duplicate_mrn_in_the_same_clinic_is_a_field_error(client, nurse):
    PatientFactory(clinic=nurse.clinic, mrn="X-1")
    client.force_login(nurse)
    response = client.post("/patients/new/", {**VALID, "mrn": "X-1"})
    assert response.status_code == 422
    assert "already has this MRN" in " ".join(response.context["form"].errors["mrn"])
    assert Patient.objects.count() == 1


def test_same_mrn_is_allowed_in_another_clinic(nurse):
    PatientFactory(clinic=ClinicFactory(), mrn="X-1")
    patient_create(actor=nurse, mrn="X-1", given_name="A", family_name="B", date_of_birth=dt.date(1980, 1, 1),
                   sex="male")
    assert Patient.objects.filter(mrn="X-1").count() == 2


def test_search_by_name_mrn_and_birth_date_sees_only_own_clinic(client, nurse):
    mine = PatientFactory(clinic=nurse.clinic, given_name="Zoe", family_name="Quintero", mrn="RKC-7",
                          date_of_birth=dt.date(1970, 2, 24))
    PatientFactory(clinic=nurse.clinic, given_name="Kai", family_name="Abbott")
    PatientFactory(clinic=ClinicFactory(), given_name="Zoe", family_name="Quintero")
    client.force_login(nurse)
    for query in ["quintero", "zoe QUIN", "RKC-7", "1970-02-24"]:
        response = client.post("/patients/", {"q": query}, headers={"HX-Request": "true",
                                                                     "HX-Target": "patient-results"})
        assert response.status_code == 200
        assert list(response.context["page"].object_list) == [mine], query
        assert b"<html" not in response.content  # the htmx partial only


def test_list_query_count_does_not_grow_with_patients(client, nurse):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(nurse)
    client.get("/")  # the session's first write is not part of either measurement
    PatientFactory(clinic=nurse.clinic)
    caches["default"].clear()
    with CaptureQueriesContext(connection) as few:
        client.get("/patients/")
    PatientFactory.create_batch(30, clinic=nurse.clinic)
    caches["default"].clear()  # the same cached state (banner counts) for both measurements
    with CaptureQueriesContext(connection) as many:
        response = client.get("/patients/")
    assert len(response.context["page"].object_list) == 25
    assert len(many) == len(few) <= 15, [q["sql"][:80] for q in many]


def test_chart_of_another_clinic_is_not_found(client, nurse):
    other = PatientFactory(clinic=ClinicFactory())
    client.force_login(nurse)
    assert client.get(f"/patients/{other.pk}/").status_code == 404
    assert client.get(f"/patients/{other.pk}/edit/").status_code == 404
    assert client.post(f"/patients/{other.pk}/edit/", VALID).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED).exists()
