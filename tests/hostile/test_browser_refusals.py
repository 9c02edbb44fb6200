"""In Chromium: a refused hidden character is a readable page naming the field, and a chart holding a year-1 value
still opens, showing a marker (issue 16 points 1 and 3). Screenshots in test-artifacts/."""

import datetime as dt

import pytest

from ketacare.accounts.roles import Role
from ketacare.treatment.choices import SessionState
from ketacare.treatment.models import VitalsReading
from ketacare.treatment.tests.factories import staff, started_course, walk
from tests.browser import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_hidden_character_in_a_staff_name_is_refused_on_a_readable_page(live_server, page, screenshot):
    page.set_default_timeout(30_000)  # the first page of a live server on a shared machine can be slow
    admin = UserFactory(role=Role.CLINIC_ADMIN, username="clinicadmin")
    sign_in(page, live_server.url, admin.username)
    page.goto(live_server.url + "/accounts/staff/new/")
    page.get_by_label("Username").fill("newnurse")
    page.get_by_label("First name").fill("Noor\u202e")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_label("Password").fill("a-long-enough-passphrase-2026")
    page.get_by_role("button", name="Add").click()
    assert page.get_by_role("heading", name="Not saved").is_visible()
    assert "First name: Remove an invisible formatting character (U+202E" in page.content()
    screenshot(page, "refused")


def test_a_session_with_a_year_one_reading_still_opens(live_server, page, screenshot):
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    walk(session, nurse=nurse, prescriber=prescriber, until=SessionState.PRE_DOSE)
    reading = VitalsReading.objects.filter(session=session).first()
    reading.pk, reading.taken_at = None, dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    VitalsReading.objects.bulk_create([reading])
    sign_in(page, live_server.url, nurse.username)
    page.goto(live_server.url + f"/treatment/sessions/{session.pk}/")
    assert "(date out of range)" in page.content()
    screenshot(page, "session")
