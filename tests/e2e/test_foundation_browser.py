"""In headless Chromium: sign in, search a patient, open the chart, edit it, sign out (screenshots kept)."""

import pytest

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.patients.models import Patient
from tests.browser import sign_in
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_nurse_finds_opens_edits_and_signs_out(live_server, page, screenshot):
    base = live_server.url
    nurse = UserFactory(username="nurse", role=Role.NURSE, first_name="Noah")
    PatientFactory.create_batch(5, clinic=nurse.clinic)
    target = PatientFactory(clinic=nurse.clinic, given_name="Ximena", family_name="Quintero", mrn="RKC-000777")
    PatientFactory(clinic=ClinicFactory(), given_name="Ximena", family_name="Quintero")

    page.goto(base + "/accounts/login/")
    screenshot(page, "login")
    sign_in(page, base, "nurse")
    screenshot(page, "home")

    page.get_by_role("link", name="Patients").click()
    page.get_by_label("Search patients").fill("quint")
    results = page.locator("#patient-results")
    results.get_by_text("1 patient matching").wait_for()
    assert results.locator("tbody tr").count() == 1
    screenshot(page, "search")

    results.get_by_role("link", name="Quintero, Ximena").click()
    page.get_by_role("heading", name="Quintero, Ximena").wait_for()
    assert "RKC-000777" in page.content()
    screenshot(page, "chart")

    page.get_by_role("button", name="Edit details").click()
    page.get_by_label("Phone", exact=True).fill("not a phone")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Enter a phone number").wait_for()
    screenshot(page, "edit-error")
    page.get_by_label("Phone", exact=True).fill("+1 617 555 0142")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="Quintero, Ximena").wait_for()
    assert "+1 617 555 0142" in page.locator(".identity").inner_text()
    screenshot(page, "chart-after-edit")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/accounts/login/")
    page.goto(base + f"/patients/{target.pk}/")
    assert "/accounts/login/" in page.url
    screenshot(page, "signed-out")

    target.refresh_from_db()
    assert target.phone == "+1 617 555 0142"
    assert Patient.objects.filter(phone="not a phone").count() == 0
    assert set(AuditEvent.objects.filter(patient_id=target.pk).values_list("action", flat=True)) == {
        AuditAction.PATIENT_VIEWED, AuditAction.PATIENT_UPDATED}
    # The refused edit answers 422 by design (the form re-rendered with its errors); nothing else may fail.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_phone_layout_keeps_the_chart_readable(live_server, browser, screenshot):
    nurse = UserFactory(username="nurse", role=Role.NURSE)
    patient = PatientFactory(clinic=nurse.clinic, given_name="Wren", family_name="Abbott")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, live_server.url, "nurse")
    page.goto(live_server.url + f"/patients/{patient.pk}/")
    heading = page.get_by_role("heading", name="Abbott, Wren")
    assert heading.bounding_box()["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "chart-phone")
    context.close()
