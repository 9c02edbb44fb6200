"""Recording, amending and importing: scores from the domain, alerts in the same transaction, audit rows, nothing
stored on bad input, immutability."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.instruments import selectors, services
from ketacare.instruments.domain.model import InvalidAnswer
from ketacare.instruments.models import (
    DefinitionLocked,
    ImportedInstrument,
    LicensedText,
    QuestionnaireResponse,
    ResponseLocked,
    SafetyThresholdSetting,
    SettingLocked,
)
from ketacare.instruments.selectors import InstrumentNotFound, ResponseNotFound
from ketacare.instruments.tests.support import fixture_json
from ketacare.safety.models import Alert
from ketacare.safety.selectors import open_high_suicide_risk
from tests.clinic_fixtures import PHQ9_ITEM9
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHQ9_ELEVEN = [2, 2, 1, 1, 1, 1, 1, 1, 1]  # item 9 = 1


def record(patient, actor, answers, when, key="phq-9", **kwargs):
    return services.response_record(patient=patient, actor=actor, instrument_key=key, answers=answers,
                                    answered_at=when, mode=kwargs.pop("mode", "self_report"), **kwargs)


def test_a_response_keeps_version_raw_answers_scores_and_who_entered_it(patient, nurse, earlier):
    response = record(patient, nurse, [0, 1, 2, 3, 0, 1, 2, 3, 0, "LA6573-5"], earlier, context="pre-dose")
    response.refresh_from_db()
    assert (response.instrument_key, response.instrument_version) == ("phq-9", "1.0.0")
    assert response.answers["/44250-9"] == 0 and response.answers["/69722-7"] == "LA6573-5"
    assert (response.status, response.total, response.band) == ("complete", Decimal(12), "moderate")
    assert response.item_scores[PHQ9_ITEM9] == 0 and "/69722-7" not in response.item_scores
    assert (response.entered_by, response.answered_at, response.context) == (nurse, earlier, "pre-dose")
    assert response.clinic_id == patient.clinic_id
    event = AuditEvent.objects.get(action=AuditAction.RESPONSE_RECORDED)
    assert (event.actor, event.patient_id, event.target_id) == (nurse, patient.pk, str(response.pk))
    assert event.data == {"instrument": "phq-9@1.0.0", "status": "complete", "mode": "self_report", "alerts": []}
    assert not Alert.objects.exists()


def test_item9_above_zero_raises_an_open_high_alert_in_the_same_transaction(patient, nurse, earlier):
    response = record(patient, nurse, PHQ9_ELEVEN, earlier)
    alert = Alert.objects.get()
    assert (alert.code, alert.severity, alert.status) == ("phq9.item9_positive", "high", "open")
    assert (alert.source_type, alert.source_id, alert.patient, alert.raised_by) == (
        "questionnaire_response", response.pk, patient, nurse)
    assert "same-day suicide-risk assessment" in alert.message and patient.family_name not in alert.message
    assert open_high_suicide_risk(patient=patient)
    assert AuditEvent.objects.filter(action=AuditAction.ALERT_RAISED, patient_id=patient.pk).count() == 1
    assert AuditEvent.objects.get(action=AuditAction.RESPONSE_RECORDED).data["alerts"] == ["phq9.item9_positive"]


def test_a_missing_item9_is_incomplete_and_prompts_never_zero(patient, nurse, earlier):
    response = record(patient, nurse, PHQ9_ELEVEN[:8], earlier)
    assert (response.status, response.total, response.band, response.missing) == ("incomplete", None, "",
                                                                                   [PHQ9_ITEM9])
    assert list(Alert.objects.values_list("code", "severity")) == [("phq9.item9_unanswered", "prompt")]
    assert open_high_suicide_risk(patient=patient)  # unknown is not "no"


@pytest.mark.parametrize("answers, expected", [
    ([0, 0, None, None, None, 1, 1], ("high", "cssrs.high_risk", True)),  # behaviour within 3 months
    ([1, 1, 1, 0, 0, 0, 0], ("moderate", "cssrs.moderate_risk", True)),
    ([1, 0, None, None, None, 0, None], ("low", "cssrs.low_risk", False)),
    ([0, 0, None, None, None, 0, None], ("none", None, False)),
])
def test_cssrs_screen_category_raises_the_matching_alert(patient, nurse, earlier, answers, expected):
    band, code, blocks = expected
    response = record(patient, nurse, answers, earlier, key="cssrs-screen", mode="clinician")
    assert (response.band, response.total, response.status) == (band, None, "complete")
    assert list(Alert.objects.values_list("code", flat=True)) == ([code] if code else [])
    assert open_high_suicide_risk(patient=patient) is blocks


def test_a_rise_rule_uses_the_given_baseline(patient, nurse, earlier):
    pre = record(patient, nurse, [1, 1, 1, 1], earlier, key="bprs-positive", mode="clinician")
    post = record(patient, nurse, [2, 2, 2, 1], earlier, key="bprs-positive", mode="clinician", baseline=pre)
    assert list(Alert.objects.filter(source_id=post.pk).values_list("code", flat=True)) == ["bprs.rise"]


@pytest.mark.parametrize("answers, link_id", [
    ([0, 0, 0, 0, 0, 0, 0, 0, 4], PHQ9_ITEM9),
    ({"/44250-9": "LA0000-0"}, "/44250-9"),
    ({"nope": 1}, "nope"),
    ([0] * 11, "[10]"),
    ([0, 0, 0, 0, 0, 0, 0, 0, 1.0], PHQ9_ITEM9),
])
def test_an_invalid_answer_is_refused_by_name_and_nothing_is_stored(patient, nurse, earlier, answers, link_id):
    with pytest.raises(InvalidAnswer) as refused:
        record(patient, nurse, answers, earlier)
    assert refused.value.link_id == link_id and refused.value.http_status == 422
    assert not QuestionnaireResponse.objects.exists() and not Alert.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("field, kwargs", [
    ("answered_at", {"answered_at": "2026-01-01"}),
    ("answered_at", {"answered_at": dt.datetime(2026, 1, 1, 9, 0)}),
    ("mode", {"mode": "telepathy"}),
    ("answers", {"answers": "0123"}),
])
def test_bad_entry_details_are_field_errors(patient, nurse, earlier, field, kwargs):
    arguments = {"patient": patient, "actor": nurse, "instrument_key": "gad-7", "answers": [0] * 7,
                 "answered_at": earlier, "mode": "self_report"} | kwargs
    with pytest.raises(ValidationError) as refused:
        services.response_record(**arguments)
    assert field in refused.value.message_dict
    assert not QuestionnaireResponse.objects.exists()


def test_a_time_in_the_future_is_refused(patient, nurse, now):
    with pytest.raises(ValidationError, match="future"):
        record(patient, nurse, [0] * 9, now + dt.timedelta(hours=1))


def test_staff_modes_need_a_member_of_staff_but_the_portal_does_not(patient, earlier):
    with pytest.raises(ValidationError):
        record(patient, None, [0] * 9, earlier, mode="clinician")
    response = record(patient, None, [0] * 9, earlier, mode="patient_portal")
    assert response.entered_by is None
    assert AuditEvent.objects.get(action=AuditAction.RESPONSE_RECORDED).actor_username == "patient_portal"


def test_staff_of_another_clinic_cannot_record(foreign_patient, nurse, earlier):
    with pytest.raises(ResponseNotFound):
        record(foreign_patient, nurse, [0] * 9, earlier)


def test_an_unknown_instrument_is_not_found(patient, nurse, earlier):
    with pytest.raises(InstrumentNotFound):
        record(patient, nurse, [0], earlier, key="madrs")


def test_a_stored_response_never_changes(patient, nurse, earlier):
    response = record(patient, nurse, [0] * 9, earlier)
    response.total = 27
    with pytest.raises(ResponseLocked):
        response.save()
    with pytest.raises(ResponseLocked):
        response.delete()
    with pytest.raises(ResponseLocked):
        QuestionnaireResponse.objects.filter(pk=response.pk).update(total=27)
    with pytest.raises(ResponseLocked):
        QuestionnaireResponse.objects.all().delete()
    assert QuestionnaireResponse.objects.get().total == 0


def test_an_amendment_supersedes_the_original_and_keeps_it(patient, nurse, prescriber, earlier):
    original = record(patient, nurse, PHQ9_ELEVEN, earlier, context="pre-dose")
    amendment = services.response_amend(original=original, actor=prescriber, answers=[2, 2, 1, 1, 1, 1, 1, 1, 0],
                                        reason="Item 9 entered on the wrong line")
    assert (amendment.supersedes, amendment.total, amendment.answered_at) == (original, 10, earlier)
    assert (amendment.mode, amendment.context, amendment.instrument_version) == ("self_report", "pre-dose", "1.0.0")
    assert amendment.entered_by == prescriber and amendment.is_amendment
    assert QuestionnaireResponse.objects.get(pk=original.pk).total == 11  # kept as it was
    assert list(QuestionnaireResponse.objects.current()) == [amendment]
    # The alert raised on what was recorded stays until someone acknowledges it.
    assert Alert.objects.get().source_id == original.pk and Alert.objects.get().status == "open"
    event = AuditEvent.objects.get(action=AuditAction.RESPONSE_AMENDED)
    assert event.data["supersedes"] == original.pk and event.data["reason"] == "Item 9 entered on the wrong line"


def test_an_amendment_needs_a_reason_and_amends_only_the_current_version(patient, nurse, earlier):
    original = record(patient, nurse, [0] * 9, earlier)
    with pytest.raises(ValidationError) as refused:
        services.response_amend(original=original, actor=nurse, answers=[1] * 9, reason="  ")
    assert "reason" in refused.value.message_dict
    services.response_amend(original=original, actor=nurse, answers=[1] * 9, reason="typo")
    with pytest.raises(services.ResponseAlreadyAmended):
        services.response_amend(original=original, actor=nurse, answers=[2] * 9, reason="again")
    assert QuestionnaireResponse.objects.count() == 2


def test_staff_of_another_clinic_cannot_amend(patient, nurse, earlier):
    original = record(patient, nurse, [0] * 9, earlier)
    with pytest.raises(ResponseNotFound):
        services.response_amend(original=original, actor=UserFactory(), answers=[1] * 9, reason="x")


# --- imported definitions -------------------------------------------------------------------------------------


def test_import_is_idempotent_and_a_published_version_never_changes():
    source = fixture_json("lforms_phq9_R4.json")
    row, created = services.instrument_import(source=source, key="phq9-lforms", bands_from="phq-9")
    assert created and (row.key, row.version, row.bands_from) == ("phq9-lforms", "1.0.0", "phq-9")
    assert services.instrument_import(source=source, key="phq9-lforms", bands_from="phq-9") == (row, False)
    other = fixture_json("lforms_phq9_weight-function_R4.json")
    with pytest.raises(services.DefinitionConflict):
        services.instrument_import(source=other, key="phq9-lforms")
    newer, created = services.instrument_import(source=other, key="phq9-lforms", version="1.1.0")
    assert created and selectors.instrument_get("phq9-lforms").version == "1.1.0"
    assert selectors.instrument_get("phq9-lforms", version="1.0.0").bands  # the old version is still readable
    row.title = "changed"
    with pytest.raises(DefinitionLocked):
        row.save()
    assert AuditEvent.objects.filter(action=AuditAction.INSTRUMENT_IMPORTED).count() == 2


def test_import_cannot_take_a_shipped_key_or_another_clinics_key(clinic):
    source = fixture_json("lforms_phq9_R4.json")
    with pytest.raises(services.DefinitionConflict):
        services.instrument_import(source=source, key="phq-9")
    services.instrument_import(source=source, key="ours", clinic=clinic)
    with pytest.raises(services.DefinitionConflict):
        services.instrument_import(source=source, key="ours", version="2.0.0")
    assert ImportedInstrument.objects.count() == 1


def test_a_clinic_import_is_invisible_to_other_clinics(clinic, foreign_patient):
    services.instrument_import(source=fixture_json("lforms_phq9_R4.json"), key="ours", clinic=clinic)
    assert selectors.instrument_get("ours", clinic).key == "ours"
    with pytest.raises(InstrumentNotFound):
        selectors.instrument_get("ours", foreign_patient.clinic)
    assert "ours" not in {i.key for i in selectors.instruments_available(foreign_patient.clinic)}


def test_a_response_to_an_imported_instrument_is_scored_by_it(patient, nurse, earlier):
    services.instrument_import(source=fixture_json("lforms_phq9_R4.json"), key="phq9-lforms", bands_from="phq-9")
    response = record(patient, nurse, PHQ9_ELEVEN, earlier, key="phq9-lforms")
    assert (response.total, response.band, response.instrument_version) == (11, "moderate", "1.0.0")
    assert not Alert.objects.exists()  # an import carries no safety rules; the built-in phq-9 does


# --- licensed text --------------------------------------------------------------------------------------------


def test_licensed_text_changes_wording_for_this_clinic_only_never_scoring(clinic, foreign_patient):
    admin = UserFactory(role="clinic_admin", clinic=clinic)
    before = selectors.instrument_get("mini-spin", clinic)
    text = services.licensed_text_load(actor=admin, instrument_key="mini-spin", content={
        "1": "Licensed wording one", "2": {"text": "Licensed two", "options": {"0": "Not at all (licensed)"}}})
    after = selectors.instrument_get("mini-spin", clinic)
    assert [i.text for i in after.items] == ["Licensed wording one", "Licensed two", None]
    assert after.items[1].options[0].display == "Not at all (licensed)"
    assert [(o.code, o.weight) for i in after.items for o in i.options] == [
        (o.code, o.weight) for i in before.items for o in i.options]
    assert selectors.instrument_get("mini-spin", foreign_patient.clinic).items[0].text is None
    assert (text.instrument_version, text.loaded_by) == ("1.0.0", admin)
    event = AuditEvent.objects.get(action=AuditAction.LICENSED_TEXT_LOADED)
    assert event.data == {"instrument": "mini-spin@1.0.0", "items": 2, "replaced": False}
    services.licensed_text_load(actor=admin, instrument_key="mini-spin", content={"1": "Second load"})
    assert LicensedText.objects.get().content == {"1": "Second load"}


@pytest.mark.parametrize("key, content", [
    ("mini-spin", {"1": {"text": "x", "options": {"0": {"display": "Zero", "weight": 3}}}}),  # weight change
    ("mini-spin", {"99": "no such item"}),
    ("mini-spin", {"1": {"score": 1}}),
    ("mini-spin", []),
    ("phq-9", {"/44250-9": "PHQ-9 ships its own text"}),
])
def test_licensed_text_that_would_change_scoring_or_is_unusable_is_refused(clinic, key, content):
    admin = UserFactory(role="clinic_admin", clinic=clinic)
    with pytest.raises(ValidationError):
        services.licensed_text_load(actor=admin, instrument_key=key, content=content)
    assert not LicensedText.objects.exists()


# --- the clinic's safety-rule thresholds (instruments.md §13.5) ------------------------------------------------


def test_a_clinic_threshold_applies_to_its_responses_only_and_names_itself(patient, nurse, earlier,
                                                                         foreign_patient):
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=patient.clinic)
    services.safety_thresholds_configure(actor=admin, reason="MD memo 7: bedside response at MOAA/S 2",
                                         thresholds={"moaas.sedation": 2, "moaas.emergency": 1})
    setting = SafetyThresholdSetting.objects.get()
    assert (setting.revision, setting.overrides) == (1, {"moaas.sedation": 2})  # the default is not stored
    event = AuditEvent.objects.get(action=AuditAction.PROTOCOL_CONFIGURED)
    assert event.data == {"safety_thresholds": {"moaas.sedation": 2}, "revision": 1}

    record(patient, nurse, [3], earlier, key="moaas")  # level 3: not at or below this clinic's threshold
    assert not Alert.objects.exists()
    two = record(patient, nurse, [2], earlier, key="moaas")
    alert = Alert.objects.get(source_id=two.pk)
    assert alert.code == "moaas.sedation" and "2 or lower" in alert.message
    assert AuditEvent.objects.filter(action=AuditAction.RESPONSE_RECORDED).last().data["safety_thresholds"] == {
        "moaas.sedation": 2}
    other_nurse = UserFactory(role=Role.NURSE, clinic=foreign_patient.clinic)
    record(foreign_patient, other_nurse, [3], earlier, key="moaas")  # another clinic keeps the cited default
    assert "3 or lower" in Alert.objects.get(patient=foreign_patient).message


def test_thresholds_need_a_clinic_admin_a_reason_and_values_that_can_fire(patient, nurse):
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=patient.clinic)
    with pytest.raises(PermissionDenied):
        services.safety_thresholds_configure(actor=nurse, reason="x", thresholds={"moaas.sedation": 2})
    with pytest.raises(ValidationError, match="reason"):
        services.safety_thresholds_configure(actor=admin, reason=" ", thresholds={"moaas.sedation": 2})
    with pytest.raises(ValidationError) as refused:
        services.safety_thresholds_configure(actor=admin, reason="memo", thresholds={
            "moaas.sedation": 5, "phq9.item9_positive": 2, "phq9.item9_unanswered": 1, "no.such_rule": 1})
    assert set(refused.value.message_dict) == {"moaas.sedation", "phq9.item9_positive", "phq9.item9_unanswered",
                                               "no.such_rule"}
    assert not SafetyThresholdSetting.objects.exists()
    first = services.safety_thresholds_configure(actor=admin, reason="memo", thresholds={"moaas.sedation": 2})
    second = services.safety_thresholds_configure(actor=admin, reason="memo 2", thresholds={})
    assert (second.revision, second.overrides) == (2, {})  # back to the defaults, the first stays on record
    first.reason = "rewritten"
    with pytest.raises(SettingLocked):
        first.save()


def test_one_submission_is_one_alert_with_a_part_per_rule_that_fired(patient, nurse, earlier):
    """Issue 15, point 4: MOAA/S level 1 fires the sedation rule and the emergency rule: one alert, as severe as its
    most severe part, with both parts listed."""
    response = record(patient, nurse, [1], earlier, key="moaas")
    (alert,) = Alert.objects.filter(source_type="questionnaire_response", source_id=response.pk)
    assert (alert.code, alert.severity) == ("moaas.emergency", "emergency")
    assert sorted(f.code for f in alert.findings.all()) == ["moaas.emergency", "moaas.sedation"]
    assert all(f.observed_at == earlier for f in alert.findings.all())
    second = record(patient, nurse, [1], earlier, key="moaas")  # another submission is another event
    assert Alert.objects.filter(source_id=second.pk).count() == 1 and Alert.objects.count() == 2
