"""The patient's pages in Debian's Chromium at a phone viewport (390 x 844): the whole way with JavaScript off, and
axe-core (tests/vendor/axe.min.js, the npm package) on every page in both languages (issue 11, acceptance 6: no
serious or critical violation). Screenshots under test-artifacts/."""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.utils import timezone

from ketacare.instruments.models import QuestionnaireResponse
from ketacare.portal.domain.links import MAX_FAILURES
from ketacare.portal.models import SecureLink
from ketacare.portal.tests.factories import item_with_link
from tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parents[3] / "tests" / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    contexts = []

    def open_page(*, javascript=True):
        # bypass_csp: the strict CSP (rightly) refuses the injected axe script; the app itself runs no script here
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, bypass_csp=javascript,
                                      device_scale_factor=1, is_mobile=True, has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def fill_dob(page, day):
    page.fill("#dob_month", str(day.month))
    page.fill("#dob_day", str(day.day))
    page.fill("#dob_year", str(day.year))


def answer_all(page, choice_index=0, item9_index=None):
    questions = page.locator("fieldset.question")
    for n in range(questions.count()):
        index = item9_index if (item9_index is not None and n == 8) else choice_index
        questions.nth(n).locator("label.option").nth(index).click()


def test_the_whole_way_works_without_javascript(live_server, phone, screenshot):
    patient = PatientFactory(given_name="Marisol")
    _item, _link, token = item_with_link(patient=patient, instruments=("phq-9", "gad-7"))
    page = phone(javascript=False)
    page.goto(f"{live_server.url}/p/{token}/")
    assert page.url.endswith("/p/verify/")  # the token left the address bar
    screenshot(page, "verify")
    page.get_by_label("Month").fill(str(patient.date_of_birth.month))
    page.get_by_label("Day").fill(str(patient.date_of_birth.day))
    page.get_by_label("Year").fill(str(patient.date_of_birth.year))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Patient Health Questionnaire", exact=False).wait_for()
    screenshot(page, "phq9")
    page.get_by_role("button", name="Send these answers").click()
    assert "questions still need an answer" in page.content()
    screenshot(page, "phq9-errors")
    answer_all(page, item9_index=2)
    page.get_by_role("button", name="Send these answers").click()
    assert page.get_by_role("alert").filter(has_text="get help now").is_visible()
    screenshot(page, "gad7-with-crisis")
    answer_all(page)
    page.get_by_role("button", name="Send these answers").click()
    page.get_by_role("heading", name="Thank you, your answers were sent").wait_for()
    assert page.locator("a.tel").first.get_attribute("href") == "tel:988"
    screenshot(page, "done-with-crisis")
    assert QuestionnaireResponse.objects.filter(patient=patient, mode="patient_portal").count() == 2
    # every option is a large touch target
    page.goto(f"{live_server.url}/p/{token}/")
    assert "already answered" in page.content()


def _pages(live_server, phone, language):
    """Every patient page, in `language`, yielding (name, page) once each is showing."""
    patient = PatientFactory(given_name="Marisol")
    item, link, token = item_with_link(patient=patient, instruments=("phq-9", "gad-7"))
    page = phone()
    page.goto(f"{live_server.url}/p/{token}/")
    if language == "es":
        page.select_option("#language", "es")
        page.get_by_role("button", name="Change").click()
    yield "verify", page
    fill_dob(page, dt.date(1900, 1, 1))
    page.locator("button.primary").click()
    yield "verify-error", page
    fill_dob(page, patient.date_of_birth)
    page.locator("button.primary").click()
    page.locator("fieldset.question").first.wait_for()
    yield "questionnaire", page
    page.locator("button.primary").click()
    yield "questionnaire-errors", page
    page.locator("button.secondary").click()
    yield "saved", page
    page.goto(f"{live_server.url}/p/questionnaire/")
    answer_all(page, item9_index=1)
    page.locator("button.primary").click()
    yield "questionnaire-with-crisis", page
    answer_all(page)
    page.locator("button.primary").click()
    yield "done-with-crisis", page
    page.goto(f"{live_server.url}/p/{token}/")
    yield "state-completed", page
    page.goto(f"{live_server.url}/p/{'x' * 43}/")
    yield "state-invalid", page
    other, other_link, other_token = item_with_link(patient=PatientFactory())
    SecureLink.objects.filter(pk=other_link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    page.goto(f"{live_server.url}/p/{other_token}/")
    yield "state-expired", page
    _i, locked, locked_token = item_with_link(patient=PatientFactory())
    SecureLink.objects.filter(pk=locked.pk).update(dob_failures=MAX_FAILURES,
                                                   locked_until=timezone.now() + dt.timedelta(minutes=30))
    page.goto(f"{live_server.url}/p/{locked_token}/")
    yield "state-locked", page


@pytest.mark.parametrize("language", ["en", "es"])
def test_axe_finds_no_serious_or_critical_violation_on_any_patient_page(live_server, phone, screenshot, language):
    seen, failures = [], {}
    for name, page in _pages(live_server, phone, language):
        assert page.locator("html").get_attribute("lang") == language, name
        seen.append(name)
        screenshot(page, f"{language}-{name}")
        violations = axe_violations(page)
        if violations:
            failures[name] = violations
    assert len(seen) == 11
    assert not failures, json.dumps(failures, indent=1)
    # the check can fail: an unlabelled field is a critical violation
    page.evaluate("() => document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')")
    assert "label" in {v["id"] for v in axe_violations(page)}
