"""The outcomes page's plain-SQL reads (patient_rows) and its cached body: the rows equal what the ORM reads, and
every write that changes what the page shows is on the page at the very next view."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.db.models.fields.json import KT
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.instruments import services as instrument_services
from ketacare.instruments.choices import ResponseStatus
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.outcomes import patient_rows, services
from ketacare.outcomes.selectors import PHQ9_ITEM9
from ketacare.outcomes.tests.factories import treated_patients
from ketacare.patients.models import Patient
from ketacare.treatment.models import DosingSession, VitalsReading

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients(clinic, users):
    return [Patient.objects.get(pk=pk) for pk in treated_patients(clinic, 3, users=users, seed=11)]


def _orm_sessions(patient_id):
    return list(DosingSession.objects.filter(patient_id=patient_id, first_dose_at__isnull=False)
                .exclude(course__route="none").order_by("first_dose_at", "id")
                .annotate(peak=Max("vitals__cadss_total"), low=Min("vitals__moaas"))
                .values_list("id", "number", "phase", "first_dose_at", "peak", "low"))


def _orm_responses(patient_id):
    return list(QuestionnaireResponse.objects.filter(patient_id=patient_id, status=ResponseStatus.COMPLETE).current()
                .order_by("answered_at", "id").annotate(item9=KT(f"item_scores__{PHQ9_ITEM9}"))
                .values_list("instrument_key", "answered_at", "total", "band", "item9"))


def _plain(rows):
    """The item score as a number: text from PostgreSQL's ->>, a number from SQLite's json_extract."""
    return [(k, at, total, band, None if item9 is None else int(Decimal(str(item9)))) for k, at, total, band, item9
            in rows]


def test_plain_sql_reads_equal_the_orm(patients, users):
    patient = patients[0]
    # An amendment hides the original; an incomplete response and another patient's rows never appear.
    original = QuestionnaireResponse.objects.filter(patient=patient, instrument_key="phq-9").order_by("-id").first()
    instrument_services.response_amend(original=original, actor=users["nurse"], answers=[0] * 9, reason="typo")
    for p in patients:
        sessions = patient_rows.dosed_sessions(p.pk)
        assert sessions == _orm_sessions(p.pk) and sessions
        assert all(at.tzinfo is not None for _, _, _, at, _, _ in sessions)
        responses = patient_rows.current_responses(p.pk, PHQ9_ITEM9)
        assert _plain(responses) == _plain(_orm_responses(p.pk)) and responses
        assert all(at.tzinfo is not None and at.utcoffset() == dt.timedelta(0) for _, at, _, _, _ in responses)
    phq9 = [row for row in patient_rows.current_responses(patient.pk, PHQ9_ITEM9) if row[0] == "phq-9"]
    assert [row[1] for row in phq9].count(original.answered_at) == 1  # the amendment, not both
    assert [row for row in phq9 if row[1] == original.answered_at][0][2] == 0


def test_the_stamp_changes_with_every_new_or_amended_response_and_setting(patients, users):
    patient = patients[0]
    first = patient_rows.outcome_inputs_stamp(patient.pk, patient.clinic_id)
    original = QuestionnaireResponse.objects.filter(patient=patient, instrument_key="gad-7").order_by("-id").first()
    instrument_services.response_amend(original=original, actor=users["nurse"], answers=[1] * 7, reason="re-read")
    second = patient_rows.outcome_inputs_stamp(patient.pk, patient.clinic_id)
    services.outcome_setting_save(actor=users["admin"], instrument_key="gad-7", reason="local rule",
                                  response_pct_reduction=Decimal("60"))
    third = patient_rows.outcome_inputs_stamp(patient.pk, patient.clinic_id)
    assert len({first, second, third}) == 3
    assert patient_rows.outcome_inputs_stamp(patients[1].pk, patient.clinic_id)[:2] != second[:2]


# --- the cached page body -----------------------------------------------------------------------------------------

def _chart(html: str, ident: str) -> dict:
    match = re.search(rf'<script id="{ident}" type="application/json">(.*?)</script>', html, re.S)
    assert match, ident
    return json.loads(match.group(1))


def _body(html: str) -> str:
    """The page below its header (a nonce and the CSRF token differ on every page)."""
    return html.split('<section class="kc-instrument"', 1)[1].split("<script src=", 1)[0]


def _section(html: str, key: str) -> str:
    return html.split(f'aria-labelledby="chart-{key}-title"', 1)[1].split("</section>", 1)[0]


def _page(client, patient) -> str:
    response = client.get(reverse("outcomes:patient", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_new_response_is_on_the_page_at_the_next_view(client, patients, users):
    patient = patients[0]
    client.force_login(users["nurse"])
    before = _chart(_page(client, patient), "chart-phq-9")["series"][0]["points"]
    now = timezone.now().replace(microsecond=0)
    instrument_services.response_record(patient=patient, actor=users["nurse"], instrument_key="phq-9",
                                        answers=[3] * 8 + [0], answered_at=now, mode="clinician")
    after = _chart(_page(client, patient), "chart-phq-9")["series"][0]["points"]
    assert len(after) == len(before) + 1 and after[-1][1] == 24.0


def test_an_amendment_is_on_the_page_at_the_next_view(client, patients, users):
    patient = patients[0]
    client.force_login(users["nurse"])
    latest = QuestionnaireResponse.objects.filter(patient=patient, instrument_key="gad-7").current().order_by(
        "-answered_at", "-id").first()
    before = _chart(_page(client, patient), "chart-gad-7")["series"][0]["points"]
    instrument_services.response_amend(original=latest, actor=users["nurse"], answers=[3] * 7, reason="wrong form")
    after = _chart(_page(client, patient), "chart-gad-7")["series"][0]["points"]
    assert len(after) == len(before) and after[-1][1] == 21.0 != before[-1][1]


def test_a_vitals_reading_and_a_changed_definition_are_each_on_the_page_at_the_next_view(client, patients, users):
    patient = patients[0]
    client.force_login(users["prescriber"])
    html = _page(client, patient)
    assert "Response: at least 50 % reduction" in _section(html, "phq-9")  # shipped rule (instruments.md §1.2)
    peak_before = max(v for _, v in _chart(html, "chart-dissociation")["series"][0]["points"])
    session = DosingSession.objects.filter(patient=patient, first_dose_at__isnull=False).order_by("first_dose_at")[0]
    VitalsReading.objects.create(clinic_id=patient.clinic_id, session=session, taken_at=session.first_dose_at,
                                 cadss_total=peak_before + 7, recorded_by=users["nurse"], recorded_at=timezone.now())
    html = _page(client, patient)
    assert max(v for _, v in _chart(html, "chart-dissociation")["series"][0]["points"]) == peak_before + 7
    services.outcome_setting_save(actor=users["admin"], instrument_key="phq-9", reason="stricter locally",
                                  response_pct_reduction=Decimal("75"))
    assert "Response: at least 75 % reduction" in _section(_page(client, patient), "phq-9")


def test_an_unchanged_history_is_not_read_again_but_every_view_is_audited(client, patients, users):
    patient = patients[0]
    client.force_login(users["nurse"])
    first = _page(client, patient)
    with CaptureQueriesContext(connection) as queries:
        second = _page(client, patient)
    assert _body(second) == _body(first)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "item_scores" not in sql  # the responses themselves were not read; only their stamp
    assert AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED, patient_id=patient.pk,
                                     data__via="outcomes").count() == 2


def test_the_cached_body_holds_nothing_of_the_viewer(client, patients, users):
    patient = patients[0]
    client.force_login(users["nurse"])
    nurse_page = _page(client, patient)
    client.force_login(users["prescriber"])
    prescriber_page = _page(client, patient)
    assert "Draft progress letter" in prescriber_page and "Draft progress letter" not in nurse_page
    assert _body(nurse_page) == _body(prescriber_page)


# --- one baseline rule for the chart's questionnaire panel and the outcomes page --------------------------------

def test_chart_panel_and_outcomes_page_measure_change_from_the_same_baseline(client, clinic, users):
    from ketacare.instruments.tests.factories import ResponseFactory
    from ketacare.treatment.tests.factories import SessionFactory
    from tests.factories import PatientFactory

    patient = PatientFactory(clinic=clinic)
    now = timezone.now().replace(microsecond=0)
    dose = now - dt.timedelta(days=10)

    def phq9(total, at):
        ResponseFactory(patient=patient, total=total, answered_at=at, entered_by=users["nurse"],
                        item_scores={PHQ9_ITEM9: 0})

    phq9(22, dose - dt.timedelta(days=120))  # at referral: outside PHQ-9's baseline window
    phq9(18, dose - dt.timedelta(days=1))  # the pre-treatment baseline
    client.force_login(users["nurse"])
    panel_url = reverse("patients:detail", args=[patient.pk])
    before_dosing = client.get(panel_url).content.decode()
    assert "-4 (-18 %) from 22" in before_dosing  # no dose yet: change from the first response

    SessionFactory(course__patient=patient, first_dose_at=dose)
    phq9(8, now - dt.timedelta(days=2))
    panel = client.get(panel_url).content.decode()
    assert "-10 (-56 %) from 18" in panel and "response" in panel
    outcomes = _section(_page(client, patient), "phq-9")
    assert re.search(r"<dt>Baseline</dt><dd>18 ", outcomes) and re.search(r"<dd>-10 <small>\(-55\.6 %\)", outcomes)
