"""Outcome pages: the patient outcomes page, the clinic report (identified and de-identified), exports, settings,
progress letters; happy paths, denied roles, other clinics, the htmx partial, and what a researcher can see."""

import csv
import datetime as dt
import io
import re
import subprocess

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.outcomes.models import OutcomeSetting, PatientOutcome, ProgressLetter
from ketacare.outcomes.tests.factories import letter, staff, treated_patients
from ketacare.patients.models import Patient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(clinic):
    return {**staff(clinic), **{r: UserFactory(clinic=clinic, role=r) for r in
                                (Role.RESEARCHER, Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.THERAPIST)}}


@pytest.fixture
def cohort(clinic, users):
    """40 treated patients: enough for cells of 11 and more, and small ones."""
    return treated_patients(clinic, 40, users=users, seed=21)


def _login(client, user):
    client.force_login(user)
    return client


def png_is_not_blank(pdf: bytes, tmp_path) -> bool:
    """Convert the first page with pdftoppm and check the pixels vary (a blank page is one colour)."""
    from PIL import Image, ImageStat

    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")],
                   check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    return ImageStat.Stat(image).var[0] > 50


# --- patient page ----------------------------------------------------------------------------------------------------


def test_patient_page_shows_charts_status_sessions_and_suicide_items(client, clinic, users, cohort):
    patient = Patient.objects.get(pk=cohort[0])
    response = _login(client, users["prescriber"]).get(reverse("outcomes:patient", args=[patient.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart-source="chart-phq-9"' in html and 'id="chart-phq-9"' in html
    assert f'src="/outcomes/patients/{patient.pk}/chart.svg?chart=phq-9"' in html  # the no-JavaScript fallback
    assert "Patient Health Questionnaire-9" in html and "Change from baseline" in html
    assert "Dissociation and side effects over sessions" in html and "Suicide-item history" in html
    assert "vendor/chart-4.6.1.umd.min.js" in html and "<script>" not in html  # no inline script (CSP)
    assert 'style="' not in html
    assert AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED, patient_id=patient.pk,
                                     data__via="outcomes").exists()


def test_patient_page_query_count_does_not_grow_with_history(client, clinic, users, django_assert_max_num_queries):
    short = treated_patients(clinic, 1, users=users, seed=1, span_days=30)[0]
    long = treated_patients(clinic, 1, users=users, seed=2, weekly_years=1.0,
                            first_dose=timezone.now() - dt.timedelta(days=400))[0]
    _login(client, users["nurse"])
    client.get("/")  # the session's first write is not part of either measurement
    counts = []
    for pid in (short, long):
        caches["default"].clear()  # the same cached state (banner counts) for both measurements
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("outcomes:patient", args=[pid])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 20


def test_patient_page_is_denied_to_non_clinical_roles_and_404_for_another_clinic(client, clinic, users, cohort):
    url = reverse("outcomes:patient", args=[cohort[0]])
    for role in (Role.FRONT_DESK, Role.RESEARCHER, Role.CLINIC_ADMIN):
        assert _login(client, users[role]).get(url).status_code == 403
    other = UserFactory(role=Role.PRESCRIBER)
    assert _login(client, other).get(url).status_code == 404


def test_no_javascript_fallback_is_an_svg(client, users, cohort):
    response = _login(client, users["nurse"]).get(reverse("outcomes:patient-svg", args=[cohort[0]]) + "?chart=phq-9")
    assert response["Content-Type"] == "image/svg+xml" and response.content.startswith(b"<svg")


def test_patient_pdf_renders_and_is_audited(client, users, cohort, tmp_path):
    response = _login(client, users["therapist"]).get(reverse("outcomes:patient-pdf", args=[cohort[0]]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert png_is_not_blank(response.content, tmp_path)
    assert AuditEvent.objects.filter(action=AuditAction.OUTCOMES_EXPORTED, patient_id=cohort[0]).exists()


def test_the_chart_links_to_outcomes(client, users, cohort):
    html = _login(client, users["nurse"]).get(reverse("patients:detail", args=[cohort[0]])).content.decode()
    assert reverse("outcomes:patient", args=[cohort[0]]) in html and 'id="panel-outcomes"' in html
    front = _login(client, users[Role.FRONT_DESK]).get(reverse("patients:detail", args=[cohort[0]])).content.decode()
    assert 'id="panel-outcomes"' not in front


# --- clinic report ---------------------------------------------------------------------------------------------------


def test_clinic_report_shows_the_cohort_and_filters(client, clinic, users, cohort):
    _login(client, users["prescriber"])
    response = client.get(reverse("outcomes:report"))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"<dt>Patients</dt><dd>40</dd>", html)
    assert 'data-chart-source="chart-rates"' in html and 'data-chart-source="km-phq-9"' in html
    filtered = client.get(reverse("outcomes:report"), {"route": "iv"}).content.decode()
    n_iv = PatientOutcome.objects.filter(clinic=clinic, route="iv").count()
    assert f"<dt>Patients</dt><dd>{n_iv}</dd>" in filtered
    bad = client.get(reverse("outcomes:report"), {"start_on": "2026-02-01", "end_on": "2025-01-01"})
    assert "The end date is before the start date." in bad.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.OUTCOMES_REPORT_VIEWED).count() == 3


IDENTIFIERS_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")


def test_researcher_report_has_no_identifiers_or_exact_dates_and_suppresses_small_cells(client, clinic, users,
                                                                                       cohort, tmp_path):
    _login(client, users[Role.RESEARCHER])
    patients = list(Patient.objects.filter(clinic=clinic))
    outputs = {
        "page": client.get(reverse("outcomes:research")).content.decode(),
        "csv": client.get(reverse("outcomes:research-csv")).content.decode(),
    }
    pdf = client.get(reverse("outcomes:research-pdf")).content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    outputs["pdf"] = text
    for name, output in outputs.items():
        for p in patients:
            assert p.family_name not in output, (name, "name")
            assert p.mrn not in output, (name, "MRN")
            assert p.date_of_birth.isoformat() not in output, (name, "birth date")
        assert not IDENTIFIERS_DATE.search(output), (name, IDENTIFIERS_DATE.search(output).group(0))
    assert "&lt;11" in outputs["page"] and "<11" in outputs["csv"] and "<11" in text
    # every count in the CSV is either suppressed or at least 11
    for row in csv.DictReader(io.StringIO(outputs["csv"])):
        for column in ("numerator", "denominator"):
            value = row[column]
            assert value in ("", "<11", "withheld") or int(value) >= 11, row
        if row["measure"].endswith("rate") and row["numerator"] == "<11":
            assert row["value"] == "" and row["ci_low"] == "", row
        if row["measure"] == "response rate" and row["value"] == "":  # withheld: so are the responders' days
            responders_days = next(r for r in csv.DictReader(io.StringIO(outputs["csv"]))
                                   if r["item"] == row["item"] and r["measure"] == "median days to first response")
            assert responders_days["value"] == "" and responders_days["denominator"] in ("", "<11", "withheld")
    assert png_is_not_blank(pdf, tmp_path)


def test_researcher_filters_by_year_only(client, users, cohort):
    html = _login(client, users[Role.RESEARCHER]).get(reverse("outcomes:research")).content.decode()
    assert 'name="start_year"' in html and 'type="date"' not in html


def test_clinician_exports_are_identified_and_audited(client, clinic, users, cohort, tmp_path):
    _login(client, users["prescriber"])
    report = client.get(reverse("outcomes:report-csv")).content.decode()
    assert report.startswith("section,item,measure") and "response rate" in report
    rows = b"".join(client.get(reverse("outcomes:report-patients-csv")).streaming_content).decode()
    mrns = set(Patient.objects.filter(clinic=clinic).values_list("mrn", flat=True))
    assert {r["mrn"] for r in csv.DictReader(io.StringIO(rows))} <= mrns
    pdf = client.get(reverse("outcomes:report-pdf"))
    assert pdf["Content-Type"] == "application/pdf" and png_is_not_blank(pdf.content, tmp_path)
    formats = sorted(AuditEvent.objects.filter(action=AuditAction.OUTCOMES_EXPORTED).values_list("data__format",
                                                                                                  flat=True))
    assert formats == ["csv", "csv", "pdf"]


def test_report_of_a_clinic_is_never_another_clinics(client, clinic, users, cohort):
    other = UserFactory(role=Role.PRESCRIBER)
    html = _login(client, other).get(reverse("outcomes:report")).content.decode()
    assert "<dt>Patients</dt><dd>0</dd>" in html


# --- settings --------------------------------------------------------------------------------------------------------


def test_admin_changes_a_definition_and_bad_input_stores_nothing(client, users):
    _login(client, users[Role.CLINIC_ADMIN])
    assert client.get(reverse("outcomes:settings")).status_code == 200
    bad = client.post(reverse("outcomes:settings"), {"instrument_key": "phq-9", "response_pct_reduction": "150",
                                                     "reason": "x"})
    assert bad.status_code == 422 and "field-error" in bad.content.decode()
    assert not OutcomeSetting.objects.exists()
    ok = client.post(reverse("outcomes:settings"), {"instrument_key": "gad-7", "response_pct_reduction": "40",
                                                    "response_strict": "True", "reason": "Director's decision"})
    assert ok.status_code == 302
    setting = OutcomeSetting.objects.get()
    assert (setting.instrument_key, setting.response_pct_reduction, setting.response_strict) == ("gad-7", 40, True)


# --- letters ---------------------------------------------------------------------------------------------------------


def test_prescriber_drafts_edits_and_sends_a_letter(client, users, cohort, tmp_path):
    _login(client, users["prescriber"])
    created = client.post(reverse("outcomes:letter-create", args=[cohort[0]]))
    draft = ProgressLetter.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse("outcomes:letter", args=[draft.pk])
    page = client.get(created["Location"]).content.decode()
    assert "Review before sending" in page and "Mark as sent" in page
    partial = client.post(reverse("outcomes:letter-edit", args=[draft.pk]),
                          {"recipient_name": "Dr. Ana Ruiz", "recipient_organization": "", "recipient_address": "",
                           "summary": "Good response. Plan: continue."}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert 'id="letter-body"' in partial.content.decode()
    pdf = client.get(reverse("outcomes:letter-pdf", args=[draft.pk]))
    assert pdf["Content-Type"] == "application/pdf" and png_is_not_blank(pdf.content, tmp_path)
    assert client.post(reverse("outcomes:letter-send", args=[draft.pk]), {"sent_via": ""}).status_code == 422
    assert client.post(reverse("outcomes:letter-send", args=[draft.pk]), {"sent_via": "fax"}).status_code == 302
    draft.refresh_from_db()
    assert draft.is_sent and draft.recipient_name == "Dr. Ana Ruiz"
    locked = client.get(reverse("outcomes:letter", args=[draft.pk])).content.decode()
    assert "Review before sending" not in locked and "Mark as sent" not in locked


def test_nurse_reads_letters_but_cannot_change_them(client, users, cohort):
    draft = letter(Patient.objects.get(pk=cohort[0]), users["prescriber"])
    _login(client, users["nurse"])
    assert client.get(reverse("outcomes:letter", args=[draft.pk])).status_code == 200
    assert client.post(reverse("outcomes:letter-edit", args=[draft.pk]), {"summary": "x"}).status_code == 403
    assert client.post(reverse("outcomes:letter-send", args=[draft.pk]), {"sent_via": "fax"}).status_code == 403
    assert _login(client, UserFactory(role=Role.PRESCRIBER)).get(
        reverse("outcomes:letter", args=[draft.pk])).status_code == 404


def test_detail_tables_load_on_demand_as_htmx_partials_or_full_pages(client, users, cohort):
    _login(client, users["nurse"])
    page = client.get(reverse("outcomes:patient", args=[cohort[0]])).content.decode()
    assert 'hx-trigger="toggle once"' in page and "section=durability" in page
    url = reverse("outcomes:patient-section", args=[cohort[0]])
    partial = client.get(url, {"section": "sessions"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "Peak CADSS" in partial and "Induction" in partial
    full = client.get(url, {"section": "durability", "instrument": "phq-9"}).content.decode()
    assert "<html" in full and "Durability after each series" in full
    assert client.get(url, {"section": "durability", "instrument": "nope"}).status_code == 404
    assert client.get(url, {"section": "secrets"}).status_code == 404
    letter(Patient.objects.get(pk=cohort[0]), users["prescriber"])
    letters = client.get(url, {"section": "letters"}, headers={"HX-Request": "true"}).content.decode()
    assert "Letter of" in letters and "draft" in letters
