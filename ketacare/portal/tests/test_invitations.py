"""Invitations (issue 11, acceptance 5): one message per opening item, idempotent; the body carries the clinic's
name, the link, its expiry and the first name at most; no message body, log line or URL of the whole way through
contains the patient's full name, a diagnosis, a drug or a score."""

import datetime as dt
import logging
import re

import pytest
from django.utils import timezone

from ketacare.instruments.models import QuestionnaireResponse
from ketacare.messaging.domain.phi import DISCLOSING_WORDS
from ketacare.messaging.models import Message
from ketacare.portal import services
from ketacare.portal.models import DueItem
from ketacare.portal.tests.factories import dob, open_item
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

DRUGS_AND_DIAGNOSES = {"ketamine", "esketamine", "spravato", "depression", "anxiety", "social anxiety", "mdd",
                       "phq-9", "gad-7", "suicid", "score"}


@pytest.fixture
def invited_patient():
    patient = PatientFactory(given_name="Odalys", family_name="Fenwick-Arroyo")
    nurse = UserFactory(role="nurse", clinic=patient.clinic)
    services.contact_update(actor=nurse, patient=patient, email="odalys@example.org", preferred_channel="email")
    return patient


def test_an_opening_item_gets_one_invitation_with_the_clinic_link_expiry_and_first_name(invited_patient):
    item = open_item(patient=invited_patient)
    now = timezone.now()
    assert services.send_due_invitations(now) == 1
    assert services.send_due_invitations(now) == 0  # idempotent
    message = Message.objects.get()
    assert message.key == f"portal-invite:{item.pk}" and message.to_address == "odalys@example.org"
    assert invited_patient.clinic.name in message.subject
    assert "Odalys" in message.body and "Fenwick" not in message.body and "Arroyo" not in message.body
    link = re.search(r"http://\S+/p/([A-Za-z0-9_-]{43})/", message.body)
    assert link is not None
    assert services.link_open(token=link.group(1)).link.due_item_id == item.pk
    expiry = item.expires_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d")
    assert expiry in message.body
    item.refresh_from_db()
    assert item.invited_at is not None


def test_no_invitation_before_the_item_opens_after_it_expires_or_when_the_patient_opted_out(invited_patient):
    now = timezone.now()
    open_item(patient=invited_patient, opens_at=now + dt.timedelta(hours=1), target_at=now + dt.timedelta(hours=1),
              due_at=now + dt.timedelta(hours=2), expires_at=now + dt.timedelta(hours=3))
    open_item(patient=invited_patient, opens_at=now - dt.timedelta(days=2), target_at=now - dt.timedelta(days=2),
              due_at=now - dt.timedelta(days=2), expires_at=now - dt.timedelta(days=1))
    assert services.send_due_invitations(now) == 0
    opted_out = PatientFactory(clinic=invited_patient.clinic)
    services.contact_update(actor=UserFactory(role="nurse", clinic=opted_out.clinic), patient=opted_out,
                            email="x@example.org", email_opt_out=True)
    open_item(patient=opted_out)
    assert services.send_due_invitations(now) == 0
    assert not Message.objects.exists()


def test_a_spanish_speaker_gets_a_spanish_invitation_by_sms_without_a_subject():
    patient = PatientFactory(given_name="Inés")
    services.contact_update(actor=UserFactory(role="nurse", clinic=patient.clinic), patient=patient,
                            mobile="+1 617 555 0142", preferred_channel="sms", language="es")
    open_item(patient=patient)
    services.send_due_invitations(timezone.now())
    message = Message.objects.get()
    assert message.channel == "sms" and message.to_address == "+16175550142" and message.subject == ""
    assert "Hola Inés" in message.body and "enlace seguro" in message.body


def test_nothing_disclosing_in_any_message_log_line_or_url_of_the_whole_way(client, caplog, invited_patient):
    """Acceptance 5: from schedule to submission with a positive item 9, scan every message body and subject, every
    log line and every URL the patient visits."""
    from ketacare.treatment.tests.factories import started_course

    patient = invited_patient
    prescriber = UserFactory(role="prescriber", clinic=patient.clinic)
    caplog.set_level(logging.DEBUG)
    started_course(protocol_ref="esketamine-trd@1", patient=patient, prescriber=prescriber,
                   start_on=timezone.localdate() + dt.timedelta(days=2))
    baseline = DueItem.objects.get(patient=patient, key="baseline")
    now = baseline.opens_at + dt.timedelta(minutes=1)
    assert services.send_due_invitations(now) == 1
    message = Message.objects.get()
    token = re.search(r"/p/([A-Za-z0-9_-]{43})/", message.body).group(1)
    urls = [f"/p/{token}/", "/p/verify/", "/p/questionnaire/", "/p/questionnaire/", "/p/questionnaire/", "/p/done/"]
    client.get(urls[0])
    client.post(urls[1], dob(patient.date_of_birth))
    none, positive = "LA6568-5", "LA6570-1"
    client.post(urls[2], {**{f"q{n}": none for n in range(1, 9)}, "q9": positive, "action": "submit"})
    client.post(urls[3], {**{f"q{n}": none for n in range(1, 8)}, "action": "submit"})
    assert "get help now" in client.get(urls[5]).content.decode()
    scanned = "\n".join([*(f"{m.subject}\n{m.body}" for m in Message.objects.all()), caplog.text, *urls]).lower()
    assert patient.family_name.lower() not in scanned
    for word in DRUGS_AND_DIAGNOSES | (DISCLOSING_WORDS - {"spin"}):
        assert not re.search(rf"\b{re.escape(word)}", scanned), word
    totals = [str(r.total) for r in QuestionnaireResponse.objects.filter(patient=patient)]
    assert totals and all(not re.search(rf"\bscore\D*{t}\b", scanned) for t in totals)
    assert token not in caplog.text
