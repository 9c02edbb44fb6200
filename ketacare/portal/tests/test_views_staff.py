"""Staff see and change the patient's contact preferences; adherence per patient and per clinic; the
missed-in-a-row flag."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.portal import services
from ketacare.portal.domain.adherence import missed_run, summarize
from ketacare.portal.domain.schedule import ItemState
from ketacare.portal.models import ContactPreference
from ketacare.portal.tests.factories import open_item
from ketacare.safety.models import Alert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_set_contact_preferences_and_see_them_on_the_patients_page(client, patient):
    frontdesk = UserFactory(role="front_desk", clinic=patient.clinic)
    client.force_login(frontdesk)
    url = f"/portal/patients/{patient.pk}/contact/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"email": "m.q@example.org", "mobile": "+1 617 555 0100", "preferred_channel": "sms",
                                 "email_opt_out": "on", "language": "es"})
    assert response.status_code == 302
    pref = ContactPreference.objects.get(patient=patient)
    assert (pref.preferred_channel, pref.email_opt_out, pref.sms_opt_out, pref.language) == ("sms", True, False, "es")
    assert AuditEvent.objects.filter(action="portal_contact_changed", patient_id=patient.pk).exists()
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Between visits" in page and "+16175550100" in page and "(opted out)" in page


def test_a_bad_mobile_number_is_refused_and_nothing_is_saved(client, patient):
    client.force_login(UserFactory(role="nurse", clinic=patient.clinic))
    response = client.post(f"/portal/patients/{patient.pk}/contact/", {"email": "", "mobile": "call me",
                                                                        "preferred_channel": "sms", "language": "en"})
    assert response.status_code == 200 and "mobile number in international form" in response.content.decode()
    assert not ContactPreference.objects.exists()


def test_the_invitation_channel_follows_preference_and_opt_outs(patient):
    nurse = UserFactory(role="nurse", clinic=patient.clinic)
    pref = services.contact_update(actor=nurse, patient=patient, email="a@example.org", mobile="+16175550100",
                                   preferred_channel="sms")
    assert services.delivery_channel(pref) == ("sms", "+16175550100")
    pref = services.contact_update(actor=nurse, patient=patient, email="a@example.org", mobile="+16175550100",
                                   preferred_channel="sms", sms_opt_out=True)
    assert services.delivery_channel(pref) == ("email", "a@example.org")
    pref = services.contact_update(actor=nurse, patient=patient, email="a@example.org", mobile="+16175550100",
                                   preferred_channel="sms", sms_opt_out=True, email_opt_out=True)
    assert services.delivery_channel(pref) is None


def test_adherence_counts_and_response_rate():
    states = [ItemState.COMPLETED] * 3 + [ItemState.EXPIRED] + [ItemState.OPEN, ItemState.OVERDUE, ItemState.UPCOMING]
    a = summarize(states)
    assert (a.completed, a.expired, a.open, a.overdue, a.upcoming) == (3, 1, 1, 1, 1)
    assert a.response_rate == 0.75
    assert summarize([ItemState.OPEN]).response_rate is None
    assert missed_run([True, False, False]) == 2 and missed_run([False, True]) == 0 and missed_run([]) == 0


def _closed(patient, n, *, done):
    from ketacare.portal.models import DueItem

    now = timezone.now()
    for _k in range(n):
        start = now - dt.timedelta(days=30) + dt.timedelta(days=DueItem.objects.count())  # each later than the last
        item = open_item(patient=patient, target_at=start, opens_at=start, due_at=start + dt.timedelta(hours=1),
                         expires_at=start + dt.timedelta(hours=2))
        if done:
            item.status, item.completed_at = "completed", start
            item.save()


def test_the_clinic_page_shows_adherence_per_patient(client, patient):
    _closed(patient, 1, done=[True])
    _closed(patient, 1, done=[])
    client.force_login(UserFactory(role="prescriber", clinic=patient.clinic))
    page = client.get("/portal/adherence/").content.decode()
    assert patient.family_name in page and "50 %" in page


def test_n_missed_in_a_row_flags_the_patient_once_and_the_clinic_sets_n(patient):
    _closed(patient, 2, done=[])
    now = timezone.now()
    assert services.flag_missed_in_a_row(now) == 0  # default N = 3
    _closed(patient, 1, done=[])
    assert services.flag_missed_in_a_row(now) == 1
    assert services.flag_missed_in_a_row(now) == 0  # the same run is flagged once
    assert Alert.objects.get(patient=patient, code="portal.missed_in_a_row").status == "open"
    admin = UserFactory(role="clinic_admin", clinic=patient.clinic)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.portal_configure(actor=admin, crisis_resources=[{"label": "Lifeline", "contact": "988"}],
                                  missed_in_a_row=0, reason="x")
    services.portal_configure(actor=admin, crisis_resources=[{"label": "Lifeline", "contact": "988"}],
                              missed_in_a_row=1, reason="flag every miss")
    _closed(patient, 1, done=[True])
    assert services.flag_missed_in_a_row(now) == 0  # the last one was answered
    _closed(patient, 1, done=[])
    assert services.flag_missed_in_a_row(now) == 1


def test_every_interface_text_has_its_spanish_translation():
    po = (Path(__file__).resolve().parents[1] / "locale/es/LC_MESSAGES/django.po").read_text()
    entries = [e for e in po.split("\n\n") if "msgid" in e and not e.startswith("#")]
    untranslated = [e for e in entries[1:] if re.search(r'^msgstr(\[0\])? ""$', e, re.M) and not re.search(
        r'^msgstr(\[0\])? ""\n"', e, re.M)]
    assert len(entries) > 40 and not untranslated
    assert "#, fuzzy" not in po
    assert (Path(__file__).resolve().parents[1] / "locale/es/LC_MESSAGES/django.mo").stat().st_size > 1000
