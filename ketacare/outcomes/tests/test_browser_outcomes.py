"""In headless Chromium, on the demo clinic: the clinic outcomes report with its charts drawn, its PDF (converted to
PNG and checked not blank), a patient's outcomes page, a progress letter, then the researcher's de-identified view
(screenshots kept in test-artifacts/). One test: seeding the demo clinic is the slow part."""

import re
import subprocess

import pytest

from ketacare.patients.models import Patient
from ketacare.seed.demo import seed_demo
from tests.browser import sign_in

DEMO_PASSWORD = "demo-password-for-tests"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Variance of the canvas pixels: an undrawn canvas is all transparent (0).
CANVAS_VARIANCE = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sq = 0, n = data.length / 4;
  for (let i = 0; i < data.length; i += 4) { const v = data[i] + data[i + 1] + data[i + 2] + data[i + 3];
    sum += v; sq += v * v; }
  return sq / n - (sum / n) ** 2;
}"""


def assert_charts_drawn(page, minimum: int) -> None:
    canvases = page.locator("canvas[data-chart-source]")
    assert canvases.count() >= minimum
    for n in range(canvases.count()):
        canvas = canvases.nth(n)
        canvas.scroll_into_view_if_needed()
        assert canvas.get_attribute("data-drawn") == "1"
        assert canvas.evaluate(CANVAS_VARIANCE) > 0, canvas.get_attribute("data-chart-source")


def pdf_png_not_blank(pdf: bytes, tmp_path, name: str) -> None:
    from PIL import Image, ImageStat

    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(source), str(tmp_path / name)],
                   check=True)
    png = next(tmp_path.glob(f"{name}*.png"))
    assert ImageStat.Stat(Image.open(png).convert("L")).var[0] > 50
    return png


def keep(png, request, name: str) -> None:
    """Keep a converted PDF page next to the screenshots (test-artifacts/<test>/)."""
    import shutil

    from conftest import ARTIFACTS

    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, folder / name)


def wait_drawn(page, count: int) -> None:
    """Wait until `count` charts are drawn. A locator wait, not wait_for_function: under the strict CSP (no
    'unsafe-eval') Playwright cannot poll a string predicate inside the page once the first check fails."""
    page.locator("canvas[data-drawn]").nth(count - 1).wait_for()


def test_clinic_report_patient_outcomes_and_letter_in_chromium(live_server, page, screenshot, tmp_path, request):
    base = live_server.url
    clinic, _ = seed_demo(password=DEMO_PASSWORD)
    sign_in(page, base, "prescriber", DEMO_PASSWORD)

    page.get_by_role("link", name="Outcomes").click()
    page.get_by_role("heading", name="Clinic outcomes").wait_for()
    wait_drawn(page, 3)
    assert_charts_drawn(page, 3)
    patients = int(page.locator(".kc-headline dd").first.inner_text())
    assert patients >= 20
    screenshot(page, "clinic-report")

    pdf = page.request.get(base + "/outcomes/report/export.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    png = pdf_png_not_blank(pdf.body(), tmp_path, "report")
    keep(png, request, "report-pdf-page1.png")

    page.get_by_label("Route").select_option("iv")
    with page.expect_navigation():  # a GET form: a new page, whose charts are drawn anew
        page.get_by_role("button", name="Show cohort").click()
    wait_drawn(page, 2)
    assert int(page.locator(".kc-headline dd").first.inner_text()) < patients
    screenshot(page, "clinic-report-iv")

    longest = Patient.objects.filter(clinic=clinic).order_by("-mrn").first()
    page.goto(base + f"/patients/{longest.pk}/")
    page.locator("#panel-outcomes").get_by_role("link", name=re.compile("Open outcomes")).click()
    page.get_by_role("heading", name=re.compile("^Outcomes")).wait_for()
    wait_drawn(page, 3)
    assert_charts_drawn(page, 3)
    assert page.locator("#chart-phq-9-title").is_visible()
    screenshot(page, "patient-outcomes")
    assert page.console_errors == []

    page.get_by_role("button", name="Draft progress letter").click()
    page.get_by_role("heading", name=re.compile("Progress letter")).wait_for()
    page.get_by_label("Summary for the referring clinician").fill(
        "Mood has improved markedly since the induction series.\n\nPlan: fortnightly maintenance for three months.")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Letter saved.").wait_for()
    screenshot(page, "letter-draft")
    letter_pdf = page.request.get(page.url + "letter.pdf")
    assert letter_pdf.ok
    keep(pdf_png_not_blank(letter_pdf.body(), tmp_path, "letter"), request, "letter-pdf-page1.png")
    page.get_by_label("Sent by").fill("secure e-mail")
    page.get_by_role("button", name=re.compile("mark as sent")).click()
    page.get_by_text("Marked as sent").wait_for()
    screenshot(page, "letter-sent")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/accounts/login/")
    researcher_sees_the_deidentified_report(base, clinic, page, screenshot)


def researcher_sees_the_deidentified_report(base, clinic, page, screenshot):
    sign_in(page, base, "researcher", DEMO_PASSWORD)
    page.get_by_role("link", name="Research").click()
    page.get_by_role("heading", name=re.compile("de-identified")).wait_for()
    assert page.get_by_role("heading", name="Patients by age band and sex").is_visible()  # one research page
    page.wait_for_load_state("load")
    # The demo clinic is small: every drawn chart is built on cells of 11 or more, the rest say they are withheld.
    for canvas in page.locator("canvas[data-chart-source]").all():
        assert canvas.get_attribute("data-drawn") == "1"
    text = page.locator("main").inner_text()
    assert "Withheld: fewer than 11 patients at risk." in text
    for p in Patient.objects.filter(clinic=clinic):
        assert p.mrn not in text and f"{p.family_name}, {p.given_name}" not in text
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    assert "<11" in text
    screenshot(page, "research-report")
