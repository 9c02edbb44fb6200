"""The patient's pages (issue 11, acceptance 2): expired, revoked, reused-after-completion, tampered and guessed
tokens get a clear page and no data; date-of-birth attempts are limited; a link for one patient never shows another's
form. And the whole way through: answers recorded through the instruments app, crisis resources at once."""

import datetime as dt
import logging
import secrets

import pytest
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.portal import services
from ketacare.portal.domain.links import MAX_FAILURES
from ketacare.portal.models import DueItem
from ketacare.portal.tests.factories import dob, item_with_link
from ketacare.safety.models import Alert
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PHQ9_LINKS = ("/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3",
              "/44260-8")
NONE, MORE_THAN_HALF = "LA6568-5", "LA6570-1"


def phq9_form(item9=NONE, skip=()):
    """The form fields as the page names them (q1..q9 in item order; q10 the unscored difficulty item)."""
    data = {f"q{n + 1}": NONE for n, link in enumerate(PHQ9_LINKS) if link not in skip}
    if "/44260-8" not in skip:
        data["q9"] = item9
    return data


def no_patient_data(response, patient):
    body = response.content.decode()
    return patient.given_name not in body and patient.family_name not in body and "PHQ-9" not in body


def verified(client, token, patient):
    assert client.get(f"/p/{token}/").status_code == 302
    response = client.post("/p/verify/", dob(patient.date_of_birth))
    assert response.status_code == 302 and response["Location"] == "/p/questionnaire/"


@pytest.fixture
def linked():
    patient = PatientFactory(given_name="Marisol", family_name="Quintero-Ash")
    item, link, token = item_with_link(patient=patient)
    return patient, item, link, token


def test_a_guessed_token_gets_the_not_valid_page_and_nothing_else(client, linked):
    patient, _item, _link, _token = linked
    response = client.get(f"/p/{secrets.token_urlsafe(32)}/")
    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()
    assert no_patient_data(response, patient) and patient.clinic.name not in response.content.decode()


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
    lambda t: t[:-2],  # shortened
    lambda t: t + "x",  # lengthened
    lambda t: t.replace(t[5], "%"),  # not URL-safe base64
])
def test_a_tampered_token_gets_the_not_valid_page(client, linked, tamper):
    patient, _item, _link, token = linked
    response = client.get(f"/p/{tamper(token)}/")
    assert response.status_code == 404
    assert no_patient_data(response, patient)
    assert client.get("/p/questionnaire/").content.decode().count("not valid")  # no session was opened


def test_an_expired_link_says_so_and_shows_no_data(client, linked):
    patient, item, link, token = linked
    link.expires_at = timezone.now() - dt.timedelta(minutes=1)
    link.save()
    response = client.get(f"/p/{token}/")
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert no_patient_data(response, patient)


def test_a_link_revoked_by_staff_says_so_and_shows_no_data(client, linked, nurse):
    patient, item, link, token = linked
    from tests.factories import UserFactory

    staff = UserFactory(role="nurse", clinic=patient.clinic)
    services.link_revoke(actor=staff, link=link)
    response = client.get(f"/p/{token}/")
    assert response.status_code == 410 and "no longer valid" in response.content.decode()
    assert no_patient_data(response, patient)


def test_revoking_after_the_date_of_birth_check_closes_the_open_form_too(client, linked):
    patient, item, link, token = linked
    verified(client, token, patient)
    link.revoked_at = timezone.now()
    link.save()
    response = client.get("/p/questionnaire/")
    assert response.status_code == 410 and no_patient_data(response, patient)


def test_the_date_of_birth_is_asked_before_anything_and_wrong_dates_lock_the_link(client, linked):
    patient, item, link, token = linked
    client.get(f"/p/{token}/")
    assert "not valid" in client.get("/p/questionnaire/").content.decode()  # not verified yet: no form
    wrong = patient.date_of_birth - dt.timedelta(days=1)
    for attempt in range(1, MAX_FAILURES):
        response = client.post("/p/verify/", dob(wrong))
        assert response.status_code == 400
        assert f"{MAX_FAILURES - attempt} tr" in response.content.decode()
        assert no_patient_data(response, patient)
    response = client.post("/p/verify/", dob(wrong))
    assert response.status_code == 429 and "locked" in response.content.decode()
    # the right date does not help while locked
    response = client.post("/p/verify/", dob(patient.date_of_birth))
    assert response.status_code == 429
    assert "not valid" in client.get("/p/questionnaire/").content.decode()
    assert AuditEvent.objects.filter(action="portal_dob_failed", patient_id=patient.pk).count() == MAX_FAILURES - 1
    assert AuditEvent.objects.filter(action="portal_dob_locked", patient_id=patient.pk).count() == 1


def test_a_date_in_the_wrong_format_counts_as_a_try_and_says_how_to_write_it(client, linked):
    patient, _item, link, token = linked
    client.get(f"/p/{token}/")
    response = client.post("/p/verify/", {"dob_month": "14", "dob_day": "03", "dob_year": "1980"})
    assert response.status_code == 400 and "month, day and year" in response.content.decode()
    link.refresh_from_db()
    assert link.dob_failures == 1


def test_a_link_for_one_patient_never_shows_another_patients_form(client, linked):
    patient, item, link, token = linked
    other = PatientFactory(clinic=patient.clinic, given_name="Tobias", family_name="Brennan-Oyelaran",
                           date_of_birth=patient.date_of_birth - dt.timedelta(days=400))
    _other_item, _other_link, other_token = item_with_link(patient=other)
    verified(client, token, patient)
    assert "Marisol" in client.get("/p/questionnaire/").content.decode()
    # the same browser opens the other patient's link: the first verification does not carry over
    client.get(f"/p/{other_token}/")
    response = client.get("/p/questionnaire/")
    assert "Tobias" not in response.content.decode() and "Marisol" not in response.content.decode()
    # the first patient's date of birth does not open the second patient's form
    response = client.post("/p/verify/", dob(patient.date_of_birth))
    assert response.status_code == 400
    assert "Tobias" not in client.get("/p/questionnaire/").content.decode()
    # and answers posted now do not land on either patient
    client.post("/p/questionnaire/", {**phq9_form(), "action": "submit"})
    assert not QuestionnaireResponse.objects.exists()


def test_answers_are_recorded_through_the_instruments_app_and_item_9_shows_crisis_resources_at_once(client, linked):
    patient, item, link, token = linked
    verified(client, token, patient)
    response = client.get("/p/questionnaire/")
    body = response.content.decode()
    assert "Little interest or pleasure in doing things" in body and "Hello Marisol" in body
    assert "Quintero-Ash" not in body  # the first name only
    response = client.post("/p/questionnaire/", {**phq9_form(item9=MORE_THAN_HALF), "action": "submit"})
    assert response.status_code == 302 and response["Location"] == "/p/done/"
    stored = QuestionnaireResponse.objects.get(patient=patient)
    assert stored.mode == "patient_portal" and stored.entered_by is None
    assert stored.answers["/44260-8"] == MORE_THAN_HALF
    assert Alert.objects.filter(patient=patient, code="phq9.item9_positive", status="open").exists()
    done = client.get("/p/done/").content.decode()
    assert "get help now" in done and 'href="tel:988"' in done and "What happens next" in done
    item.refresh_from_db()
    assert item.status == "completed" and item.response_ids[0]["response"] == stored.pk


def test_no_crisis_panel_without_a_risk_answer(client, linked):
    patient, _item, _link, token = linked
    verified(client, token, patient)
    client.post("/p/questionnaire/", {**phq9_form(), "action": "submit"})
    done = client.get("/p/done/").content.decode()
    assert "get help now" not in done and "Thank you, your answers were sent" in done


def test_a_clinic_sets_its_own_crisis_resources(client, linked):
    patient, _item, _link, token = linked
    from tests.factories import UserFactory

    admin = UserFactory(role="clinic_admin", clinic=patient.clinic)
    services.portal_configure(actor=admin, crisis_resources=[{"label": "Samaritans", "contact": "116123"}],
                              missed_in_a_row=3, reason="UK clinic")
    verified(client, token, patient)
    client.post("/p/questionnaire/", {**phq9_form(item9=MORE_THAN_HALF), "action": "submit"})
    done = client.get("/p/done/").content.decode()
    assert "Samaritans" in done and "tel:116123" in done and "tel:988" not in done


def test_a_submitted_link_cannot_be_used_again(client, linked):
    patient, _item, _link, token = linked
    verified(client, token, patient)
    client.post("/p/questionnaire/", {**phq9_form(), "action": "submit"})
    fresh = client.__class__()
    response = fresh.get(f"/p/{token}/")
    assert "already answered" in response.content.decode() and no_patient_data(response, patient)
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 1
    # the browser that sent it cannot send again either
    client.post("/p/questionnaire/", {**phq9_form(item9=MORE_THAN_HALF), "action": "submit"})
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 1


def test_progress_is_saved_and_an_incomplete_form_is_not_recorded(client, linked):
    patient, item, _link, token = linked
    verified(client, token, patient)
    partial = phq9_form(skip=PHQ9_LINKS[5:])
    response = client.post("/p/questionnaire/", {**partial, "action": "submit"})
    assert response.status_code == 400 and "still need an answer" in response.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    item.refresh_from_db()
    assert len(item.draft["phq-9"]) == 5
    # another visit with the same link finds the answers again
    fresh = client.__class__()
    verified(fresh, token, patient)
    assert fresh.get("/p/questionnaire/").content.decode().count('" checked') == 5
    response = fresh.post("/p/questionnaire/", {**partial, "action": "save"})
    assert "Your answers are saved" in response.content.decode()


def test_a_made_up_answer_value_is_not_stored(client, linked):
    patient, item, _link, token = linked
    verified(client, token, patient)
    response = client.post("/p/questionnaire/", {**phq9_form(), "q9": "LA9999-9", "action": "submit"})
    assert response.status_code == 400
    assert not QuestionnaireResponse.objects.exists()


def test_two_questionnaires_are_two_screens_and_the_first_is_recorded_when_sent(client):
    patient = PatientFactory()
    item, _link, token = item_with_link(patient=patient, instruments=("phq-9", "gad-7"))
    verified(client, token, patient)
    assert "Questionnaire 1 of 2" in client.get("/p/questionnaire/").content.decode()
    assert client.post("/p/questionnaire/", {**phq9_form(item9=MORE_THAN_HALF), "action": "submit"})[
        "Location"] == "/p/questionnaire/"
    page = client.get("/p/questionnaire/").content.decode()
    assert "Questionnaire 2 of 2" in page and "Feeling nervous, anxious, or on edge" in page
    assert "get help now" in page  # the risk answer on the first shows the resources on the next screen at once
    assert DueItem.objects.get(pk=item.pk).status == "scheduled"


def test_the_pages_speak_spanish(client, linked):
    patient, _item, _link, token = linked
    verified(client, token, patient)
    client.post("/p/language/", {"language": "es", "next": "/p/questionnaire/"})
    page = client.get("/p/questionnaire/").content.decode()
    assert 'lang="es"' in page
    assert "Poco interés o placer en hacer cosas" in page and "Ningún día" in page
    assert "Enviar estas respuestas" in page


def test_the_language_switch_only_returns_to_a_patient_page(client):
    response = client.post("/p/language/", {"language": "es", "next": "https://evil.example/"})
    assert response["Location"] == "/p/verify/"


def test_the_token_is_never_written_to_the_logs(client, linked, caplog):
    patient, _item, _link, token = linked
    from ketacare.core.logredact import RedactPortalTokens

    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"GET /p/%s/ HTTP/1.1" 200 %s',
                               (token, 512), None)
    assert RedactPortalTokens().filter(record)
    assert token not in record.getMessage() and "/p/[redacted]/" in record.getMessage()
    handler = logging.getLogger().handlers[0] if logging.getLogger().handlers else None
    assert handler is None or any(isinstance(f, RedactPortalTokens) for f in handler.filters)
    with caplog.at_level(logging.DEBUG):
        client.get(f"/p/{token}/")
        client.get(f"/p/{token[:-1]}Z/")
    assert token not in caplog.text


def test_patient_pages_are_not_cached_and_send_no_referrer_to_other_sites(client, linked):
    patient, _item, _link, token = linked
    verified(client, token, patient)
    response = client.get("/p/questionnaire/")
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "same-origin"
