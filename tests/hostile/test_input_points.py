"""Issue 16 points 1, 3 and 4, one behaviour each: plausible dates, the text rule on forms and API, bounds and
specific messages, a JSON 413, audit digests. (The corpus beside this file runs hundreds more cases.)"""

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.patients.models import Patient
from ketacare.screening.models import Intake
from ketacare.treatment.choices import SessionState
from ketacare.treatment.models import VitalsReading
from ketacare.treatment.tests.factories import staff, started_course, walk
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def bearer(user):
    return {"Authorization": f"Bearer {token_create(user=user)}"}


def send(client, method, url, body, user):
    content = body if isinstance(body, bytes) else json.dumps(body)
    return getattr(client, method)(url, content, content_type="application/json", headers=bearer(user))


@pytest.fixture
def checked_in():
    nurse, prescriber = staff()
    patient = PatientFactory(clinic=nurse.clinic, date_of_birth=dt.date(1984, 3, 9))
    session = started_course(patient=patient, prescriber=prescriber).sessions.first()
    walk(session, nurse=nurse, prescriber=prescriber, until=SessionState.CHECKED_IN)
    return session, nurse, prescriber


def _detail(response):
    return {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}


# --- point 1: dates ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("taken_at", "message"), [
    ("0001-01-01T00:00:00Z", "This time is before 1900-01-01: check the year."),
    ("1850-06-01T00:00:00Z", "This time is before 1900-01-01: check the year."),
    ("1960-06-01T00:00:00Z", "This time is before the patient's date of birth (1984-03-09)."),
    ("2026-03-02T14:10:00Z", "This time is in the future."),
])
def test_vitals_outside_the_plausible_window_are_refused_naming_the_field(client, checked_in, taken_at, message):
    session, nurse, _ = checked_in
    response = send(client, "post", f"/api/v1/sessions/{session.pk}/vitals",
                    {"heart_rate_bpm": 70, "taken_at": taken_at}, nurse)
    assert response.status_code == 422
    assert _detail(response) == {("body", "taken_at"): message}
    assert not VitalsReading.objects.filter(session=session).exclude(taken_at__gte=session.checked_in_at).exists()


def test_a_response_dated_before_the_patients_birth_is_refused(client, checked_in):
    session, nurse, _ = checked_in
    from ketacare.treatment.tests.factories import PHQ9_NONE

    response = send(client, "post", f"/api/v1/patients/{session.patient_id}/responses",
                    {"instrument": "phq-9", "answers": PHQ9_NONE, "answered_at": "1970-01-01T12:00:00Z",
                     "mode": "clinician"}, nurse)
    assert response.status_code == 422
    assert _detail(response) == {("body", "answered_at"): "This time is before the patient's date of birth "
                                                          "(1984-03-09)."}


def test_intake_dates_before_birth_are_refused_and_nothing_is_stored(client, checked_in):
    session, _, prescriber = checked_in
    response = send(client, "put", f"/api/v1/patients/{session.patient_id}/intake",
                    {"measured_on": "1950-01-01", "weight": {"value": 80, "unit": "kg"}}, prescriber)
    assert response.status_code == 422
    assert "before the patient's date of birth" in json.dumps(response.json())
    assert not Intake.objects.filter(patient_id=session.patient_id, measured_on__isnull=False).exists()


def test_a_consent_document_cannot_take_effect_in_9999():
    from ketacare.screening.services import consent_document_create

    admin = UserFactory(role=Role.CLINIC_ADMIN)
    with pytest.raises(ValidationError) as refused:
        consent_document_create(actor=admin, route="esketamine", version="9", title="Consent", body="Text.",
                                effective_on=dt.date(9999, 12, 31))
    assert "more than two years ahead" in refused.value.message_dict["effective_on"][0]


def test_a_number_is_not_read_as_a_unix_time(client, checked_in):
    session, nurse, _ = checked_in
    response = send(client, "post", f"/api/v1/sessions/{session.pk}/vitals",
                    {"heart_rate_bpm": 70, "taken_at": 1772460000}, nurse)
    assert response.status_code == 422 and "Give the date as text" in _detail(response)[("body", "taken_at")]


# --- point 3: control characters --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["\x00", "\u202e", "\u200b", "\ufeff", "\u2028", "\x7f"])
def test_api_refuses_hidden_characters_in_an_address_and_changes_nothing(client, bad):
    user = UserFactory(role=Role.PRESCRIBER)
    patient = PatientFactory(clinic=user.clinic, address_line="1 Main Street")
    response = send(client, "patch", f"/api/v1/patients/{patient.pk}", {"address_line": f"1 Main{bad}Street"}, user)
    assert response.status_code == 422
    assert f"U+{ord(bad):04X}" in _detail(response)[("body", "address_line")]
    patient.refresh_from_db()
    assert patient.address_line == "1 Main Street"


def test_a_nul_in_a_search_is_a_422_not_a_database_error(client):
    user = UserFactory(role=Role.NURSE)
    response = send(client, "post", "/api/v1/patients/search", {"q": "Lind\x00gren"}, user)
    assert response.status_code == 422 and ("body", "q") in _detail(response)
    assert not AuditEvent.objects.filter(action=AuditAction.PATIENTS_LISTED).exists()


def test_staff_names_with_a_right_to_left_override_are_refused_on_the_form(client):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    client.force_login(admin)
    response = client.post(reverse("accounts:staff-create"), {
        "username": "newnurse", "first_name": "Noor\u202e", "last_name": "Haddad", "role": "nurse",
        "password": "a-long-enough-passphrase-2026"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "First name" in page and "U+202E RIGHT-TO-LEFT OVERRIDE" in page and "Nothing was saved" in page
    assert not User.objects.filter(username="newnurse").exists()


def test_the_patient_form_refuses_a_zero_width_space_and_stores_nothing(client):
    user = UserFactory(role=Role.PRESCRIBER)
    client.force_login(user)
    response = client.post(reverse("patients:create"), {
        "given_name": "Avery", "family_name": "Lind\u200bgren", "date_of_birth": "1984-03-09", "sex": "female"})
    assert response.status_code == 422 and "U+200B" in response.content.decode()
    assert not Patient.objects.exists()


def test_the_validator_that_said_it_refused_hidden_characters_now_does():
    from ketacare.patients.validators import validate_no_markup

    for bad in ("\u202e", "\u200b", "\ufeff", "\u2028", "\x7f", "\n"):
        with pytest.raises(ValidationError):
            validate_no_markup(f"12 Elm{bad}Road")
    validate_no_markup("12 Elm Road, Apt 3")


def test_multi_line_notes_keep_their_newlines_and_are_stored_in_nfc(client, checked_in):
    session, _, prescriber = checked_in
    notes = "First episode 2019.\n\tSecond: cafe\u0301."
    response = send(client, "put", f"/api/v1/patients/{session.patient_id}/intake", {"psychiatric_notes": notes},
                    prescriber)
    assert response.status_code == 200
    assert Intake.objects.get(patient_id=session.patient_id).psychiatric_notes == "First episode 2019.\n\tSecond: café."


# --- point 4: bounds and specific messages ----------------------------------------------------------------------

def test_zero_over_zero_blood_pressure_says_what_is_wrong_with_each_value(client, checked_in):
    session, nurse, _ = checked_in
    response = send(client, "post", f"/api/v1/sessions/{session.pk}/vitals",
                    {"systolic_mmhg": 0, "diastolic_mmhg": 0}, nurse)
    assert response.status_code == 422
    detail = _detail(response)
    assert "greater than or equal to 50" in detail[("body", "systolic_mmhg")]
    assert "greater than or equal to 20" in detail[("body", "diastolic_mmhg")]
    assert "below systolic" not in json.dumps(response.json())


def test_true_as_a_heart_rate_is_refused_as_not_a_number(client, checked_in):
    session, nurse, _ = checked_in
    response = send(client, "post", f"/api/v1/sessions/{session.pk}/vitals", {"heart_rate_bpm": True}, nurse)
    assert response.status_code == 422
    assert _detail(response) == {("body", "heart_rate_bpm"): "Give a number, not true or false."}


@pytest.mark.parametrize("debug", [False, True])
def test_a_body_over_the_limit_is_a_json_413_in_production_and_debug(client, debug):
    user = UserFactory(role=Role.NURSE)
    with override_settings(DEBUG=debug):
        response = send(client, "post", "/api/v1/patients/search", b'{"q": "' + b"a" * 3_000_000 + b'"}', user)
    assert response.status_code == 413 and response["Content-Type"].startswith("application/json")
    assert response.json() == {"code": "body_too_large", "detail": "The request body is larger than 2,621,440 bytes."}


@pytest.mark.parametrize(("body", "message"), [
    (b'{"q": ' + b"9" * 5000 + b"}", "A number in the body has more than 30 digits."),
    (b"[" * 5000 + b"]" * 5000, "The JSON body is nested more than 32 levels deep."),
    (b'{"q": NaN}', "NaN is not a JSON number."),
    (b"{'q': 1}", "The body is not valid JSON (line 1, column 2)."),
])
def test_bad_bodies_get_a_plain_sentence_not_pythons_words(client, body, message):
    user = UserFactory(role=Role.NURSE)
    with override_settings(DEBUG=True):  # the debug build used to append the Python exception
        response = send(client, "post", "/api/v1/patients/search", body, user)
    assert response.status_code == 400 and response.json() == {"detail": message}


def test_free_text_over_its_bound_is_refused_not_truncated_and_not_copied_into_the_audit(client, checked_in):
    session, _, prescriber = checked_in
    url = f"/api/v1/patients/{session.patient_id}/intake"
    response = send(client, "put", url, {"psychiatric_notes": "x" * 1_000_000}, prescriber)
    assert response.status_code == 422
    assert _detail(response) == {("body", "psychiatric_notes"): "At most 10,000 characters (this has 1,000,000)."}
    long_note = "y" * 5000
    assert send(client, "put", url, {"psychiatric_notes": long_note}, prescriber).status_code == 200
    event = AuditEvent.objects.filter(patient_id=session.patient_id).order_by("-pk").first()
    assert long_note not in json.dumps(event.data) and '"chars": 5000' in json.dumps(event.data)


def test_a_prior_trial_of_a_million_weeks_is_refused(client, checked_in):
    session, _, prescriber = checked_in
    response = send(client, "put", f"/api/v1/patients/{session.patient_id}/intake", {"trials": [
        {"name": "sertraline", "kind": "oral_antidepressant", "duration_weeks": 1_000_000}]}, prescriber)
    assert response.status_code == 422 and "at most 520 weeks" in json.dumps(response.json())
    assert not Intake.objects.filter(patient_id=session.patient_id).exists()


def test_maybe_is_not_a_yes_no_answer_on_the_history_form(client):
    nurse = UserFactory(role=Role.NURSE, clinic=ClinicFactory())
    patient = PatientFactory(clinic=nurse.clinic)
    client.force_login(nurse)
    response = client.post(reverse("screening:step-history", args=[patient.pk]), {"psychosis_history": "maybe"})
    assert response.status_code == 422 and "Choose Yes, No or not known." in response.content.decode()
    assert not Intake.objects.filter(patient=patient, psychosis_history__isnull=False).exists()
    assert client.post(reverse("screening:step-history", args=[patient.pk]),
                       {"psychosis_history": ""}).status_code == 302  # "not asked yet" is still an answer


def test_an_adverse_event_from_1850_is_refused_by_the_service(checked_in):
    from ketacare.treatment.models import AdverseEvent
    from ketacare.treatment.services import adverse_event_record

    session, nurse, _ = checked_in
    with pytest.raises(ValidationError) as refused:
        adverse_event_record(actor=nurse, session=session, description="Nausea", severity="mild",
                             onset_at=dt.datetime(1850, 6, 1, tzinfo=dt.UTC))
    assert refused.value.message_dict == {"onset_at": ["This time is before 1900-01-01: check the year."]}
    assert not AdverseEvent.objects.exists()
