"""Pages: the chart's Questionnaires panel, entering and amending a response, the htmx history, licensed text."""

import datetime as dt
import json
import re

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.instruments import services
from ketacare.instruments.models import LicensedText, QuestionnaireResponse
from ketacare.instruments.tests.factories import ResponseFactory
from ketacare.safety.models import Alert
from tests.clinic_fixtures import PHQ9_ITEM9
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def form_data(answers: list, **extra) -> dict:
    data = {f"item_{n}": value for n, value in enumerate(answers) if value is not None}
    return {"answered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "mode": "self_report"} | data | extra


PHQ9_CODES = ["LA6570-1", "LA6570-1", "LA6569-3", "LA6569-3", "LA6569-3", "LA6569-3", "LA6569-3", "LA6569-3"]


def test_the_chart_panel_shows_latest_score_band_and_change_from_baseline(client, nurse, patient, now):
    for days, answers in [(30, [3, 3, 3, 2, 2, 2, 1, 1, 0]), (10, [2, 2, 1, 1, 1, 1, 1, 0, 0]),
                          (1, [1, 1, 1, 0, 0, 0, 0, 0, 0])]:
        services.response_record(patient=patient, actor=nurse, instrument_key="phq-9", answers=answers,
                                 answered_at=now - dt.timedelta(days=days), mode="self_report")
    client.force_login(nurse)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="panel-questionnaires"' in html
    row = html[html.index("<th scope=\"row\"><a"):]
    assert "PHQ-9" in row and "<strong>3</strong>" in row and "None–minimal" in row
    assert "-14 (-82 %) from 17" in row and "remission" in row
    assert html.count("history-table") == 1 and html.count("/measure/responses/") >= 4


def test_the_chart_panel_query_count_does_not_grow_with_history(client, nurse, patient, now):
    client.force_login(nurse)
    client.get("/")  # the session's first write is not part of either measurement

    def chart_queries():
        caches["default"].clear()  # the same cached state (banner counts) for both measurements
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/patients/{patient.pk}/").status_code == 200
        return len(queries)

    ResponseFactory(patient=patient, entered_by=nurse)
    few = chart_queries()
    for days in range(12):
        ResponseFactory(patient=patient, entered_by=nurse, instrument_key=["phq-9", "gad-7", "lsas-sr"][days % 3],
                        answered_at=now - dt.timedelta(days=days))
    Alert.objects.create(clinic=patient.clinic, patient=patient, code="x", severity="low", message="m",
                         source_type="questionnaire_response", source_id=QuestionnaireResponse.objects.first().pk,
                         raised_at=now)
    assert chart_queries() == few


def test_front_desk_sees_no_questionnaires_panel(client, patient):
    client.force_login(UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic))
    assert 'id="panel-questionnaires"' not in client.get(f"/patients/{patient.pk}/").content.decode()


def test_choosing_then_entering_a_response(client, nurse, patient):
    client.force_login(nurse)
    chooser = client.get(f"/measure/patients/{patient.pk}/record/").content.decode()
    assert "?instrument=gad-7" in chooser and "?instrument=cssrs-screen" in chooser
    page = client.get(f"/measure/patients/{patient.pk}/record/?instrument=phq-9").content.decode()
    assert "Thoughts that you would be better off dead" in page and 'type="radio"' in page
    response = client.post(f"/measure/patients/{patient.pk}/record/",
                           form_data(PHQ9_CODES + ["LA6569-3"], instrument="phq-9"))
    stored = QuestionnaireResponse.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/measure/responses/{stored.pk}/"
    assert (stored.total, stored.band, stored.entered_by, stored.answers[PHQ9_ITEM9]) == (
        11, "moderate", nurse, "LA6569-3")
    assert Alert.objects.get().code == "phq9.item9_positive"
    detail = client.get(response["Location"]).content.decode()
    assert "Safety alerts from this response" in detail and "1 unacknowledged high-severity" in detail


def test_an_incomplete_form_is_refused_until_confirmed(client, nurse, patient):
    client.force_login(nurse)
    url = f"/measure/patients/{patient.pk}/record/"
    refused = client.post(url, form_data(PHQ9_CODES, instrument="phq-9"))
    assert refused.status_code == 422 and "1 item unanswered" in refused.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    saved = client.post(url, form_data(PHQ9_CODES, instrument="phq-9", allow_incomplete="on"))
    assert saved.status_code == 302
    assert QuestionnaireResponse.objects.get().status == "incomplete"
    assert Alert.objects.get().code == "phq9.item9_unanswered"


def test_a_numeric_scale_and_a_bad_value(client, nurse, patient):
    client.force_login(nurse)
    url = f"/measure/patients/{patient.pk}/record/"
    page = client.get(url + "?instrument=vas-anxiety").content.decode()
    assert 'type="range"' in page and 'type="number"' in page
    refused = client.post(url, form_data([140], instrument="vas-anxiety"))
    assert refused.status_code == 422 and not QuestionnaireResponse.objects.exists()
    assert client.post(url, form_data([64], instrument="vas-anxiety")).status_code == 302
    assert QuestionnaireResponse.objects.get().total == 64


def test_an_unknown_option_code_is_refused_on_its_item(client, nurse, patient):
    client.force_login(nurse)
    response = client.post(f"/measure/patients/{patient.pk}/record/",
                           form_data(["LA0000-0"] + PHQ9_CODES[1:] + ["LA6568-5"], instrument="phq-9"))
    assert response.status_code == 422 and "item_0_error" in response.content.decode()
    assert not QuestionnaireResponse.objects.exists()


def test_recording_is_refused_by_role_and_another_clinic_is_404(client, patient, foreign_patient):
    client.force_login(UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic))
    assert client.get(f"/measure/patients/{patient.pk}/record/").status_code == 403
    client.force_login(UserFactory(role=Role.THERAPIST, clinic=patient.clinic))
    assert client.get(f"/measure/patients/{patient.pk}/record/?instrument=gad-7").status_code == 200
    assert client.get(f"/measure/patients/{foreign_patient.pk}/record/").status_code == 404
    assert client.get(f"/measure/patients/{patient.pk}/record/?instrument=madrs").status_code == 404


def test_amending_keeps_the_original_and_the_history_shows_both(client, nurse, patient, now):
    original = services.response_record(patient=patient, actor=nurse, instrument_key="gad-7", answers=[1] * 7,
                                        answered_at=now - dt.timedelta(hours=2), mode="self_report")
    client.force_login(nurse)
    form = client.get(f"/measure/responses/{original.pk}/amend/").content.decode()
    assert re.search(r'name="item_0" value="LA6569-3"[^>]*checked', form)  # prefilled with the original answers
    refused = client.post(f"/measure/responses/{original.pk}/amend/", form_data(["LA6570-1"] * 7))
    assert refused.status_code == 422 and QuestionnaireResponse.objects.count() == 1
    saved = client.post(f"/measure/responses/{original.pk}/amend/",
                        form_data(["LA6570-1"] * 7, reason="Transcribed from the wrong sheet"))
    amendment = QuestionnaireResponse.objects.get(supersedes=original)
    assert saved["Location"] == f"/measure/responses/{amendment.pk}/" and amendment.total == 14
    old_page = client.get(f"/measure/responses/{original.pk}/").content.decode()
    assert "This response was amended" in old_page and "Transcribed from the wrong sheet" in old_page
    assert ">Amend<" not in old_page
    assert client.get(f"/measure/responses/{original.pk}/amend/").status_code == 302
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'class="amended"' in chart and "amendment" in chart


def test_the_history_partial_filters_by_instrument_for_htmx(client, nurse, patient):
    ResponseFactory(patient=patient, entered_by=nurse)
    ResponseFactory(patient=patient, entered_by=nurse, instrument_key="gad-7", total=5, band="mild")
    client.force_login(nurse)
    url = f"/measure/patients/{patient.pk}/history/?instrument=gad-7"
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<section id="questionnaire-history"') and "<html" not in partial
    assert "GAD-7" in partial and ">PHQ-9</td>" not in partial
    assert "<html" in client.get(url).content.decode()
    from ketacare.audit.models import AuditEvent

    assert AuditEvent.objects.filter(patient_id=patient.pk, data__via="questionnaire_history").count() == 2
    client.force_login(UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic))
    assert client.get(url).status_code == 403


def test_response_detail_is_404_for_another_clinic_and_audited(client, nurse, foreign_patient, patient):
    mine = ResponseFactory(patient=patient, entered_by=nurse)
    theirs = ResponseFactory(patient=foreign_patient)
    client.force_login(nurse)
    assert client.get(f"/measure/responses/{theirs.pk}/").status_code == 404
    assert client.get(f"/measure/responses/{mine.pk}/").status_code == 200
    from ketacare.audit.models import AuditEvent

    assert AuditEvent.objects.filter(patient_id=patient.pk, data__via="questionnaire_response").exists()


def test_a_clinic_admin_loads_licensed_text_and_staff_then_see_it(client, clinic, nurse, patient):
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=clinic)
    client.force_login(admin)
    page = client.get("/measure/licensed-text/").content.decode()
    assert "mini-spin-text-template.json" in page and "neutral labels" in page
    template = json.loads(client.get("/measure/licensed-text/template/?instrument=mini-spin").content)
    assert set(template) == {"1", "2", "3"} and template["1"]["options"]["0"]
    bad = client.post("/measure/licensed-text/", {"instrument": "mini-spin", "content": "{not json"})
    assert bad.status_code == 422 and "Not valid JSON" in bad.content.decode()
    changes_weight = json.dumps({"1": {"text": "x", "options": {"0": {"display": "zero", "weight": 4}}}})
    assert client.post("/measure/licensed-text/", {"instrument": "mini-spin", "content": changes_weight}
                       ).status_code == 422
    assert not LicensedText.objects.exists()
    ok = client.post("/measure/licensed-text/", {"instrument": "mini-spin",
                                                 "content": json.dumps({"1": "Licensed item one wording"})})
    assert ok.status_code == 302 and LicensedText.objects.get().clinic == clinic
    client.force_login(nurse)
    form = client.get(f"/measure/patients/{patient.pk}/record/?instrument=mini-spin").content.decode()
    assert "Licensed item one wording" in form
    assert client.get("/measure/licensed-text/").status_code == 403


def test_licensed_text_can_be_uploaded_as_a_file(client, clinic):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(UserFactory(role=Role.CLINIC_ADMIN, clinic=clinic))
    upload = SimpleUploadedFile("lsas.json", json.dumps({"1.fear": "Licensed situation one"}).encode())
    assert client.post("/measure/licensed-text/", {"instrument": "lsas-sr", "file": upload}).status_code == 302
    assert LicensedText.objects.get().content == {"1.fear": "Licensed situation one"}


def test_a_clinic_admin_sets_alert_thresholds_as_revisions(client, clinic, nurse):
    from ketacare.instruments.models import SafetyThresholdSetting

    client.force_login(UserFactory(role=Role.CLINIC_ADMIN, clinic=clinic))
    page = client.get("/measure/safety-thresholds/").content.decode()
    assert "MOAA/S: high alert when MOAA/S level is at most" in page and "instruments.md §8" in page
    assert 'name="phq9.item9_positive"' not in page and "Fixed for every clinic: PHQ-9 item 9" in page
    assert "In force: the cited defaults" in page
    form = {"bprs.item_moderate": 4, "bprs.rise": 3, "cadss.dissociation": 4, "moaas.sedation": 3,
            "moaas.emergency": 1}
    refused = client.post("/measure/safety-thresholds/", form | {"moaas.sedation": 5, "reason": "memo"})
    assert refused.status_code == 422 and not SafetyThresholdSetting.objects.exists()
    saved = client.post("/measure/safety-thresholds/", form | {"moaas.sedation": 2, "reason": "MD memo 12"})
    assert saved.status_code == 302 and SafetyThresholdSetting.objects.get().overrides == {"moaas.sedation": 2}
    assert "In force: revision 1" in client.get("/measure/safety-thresholds/").content.decode()
    client.force_login(nurse)
    assert client.get("/measure/safety-thresholds/").status_code == 403
