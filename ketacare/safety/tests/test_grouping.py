"""One alert per event (issue 15, point 4): the findings of one observation are the parts of one alert; while it is
open, later findings of the same kind join it with their values and times (append-only); its severity is the highest
of its parts; a part of higher severity tells the on-call clinician again and escalation follows; an acknowledged
alert is closed, and the next finding opens a new one."""

import datetime as dt

import pytest
import time_machine

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.append_only import ImmutableRecord
from ketacare.safety import services
from ketacare.safety.domain import grouping
from ketacare.safety.domain.grouping import Part
from ketacare.safety.forms import AcknowledgeForm
from ketacare.safety.models import Alert, AlertFinding, AlertNotification
from ketacare.safety.selectors import banner_alert_count
from tests.factories import UserFactory

T0 = dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.UTC)
GROUP = "vitals:session:7"
BP_HIGH = Part("vitals.bp.high", "high", "BP 185/110 mmHg above 180/110: recheck", "185/110 mmHg")
SYS_RISE = Part("vitals.bp.systolic_rise", "high", "systolic rose 57 mmHg from baseline", "185/110 mmHg")
DIA_RISE = Part("vitals.bp.diastolic_rise", "high", "diastolic rose 28 mmHg from baseline", "185/110 mmHg")
CADSS = Part("vitals.cadss.dissociation", "high", "CADSS 12 above 4", "CADSS 12")
SPO2_CRITICAL = Part("vitals.spo2.critical", "emergency", "SpO2 85 % below 88", "SpO2 85 %")


# ---- The pure rules ------------------------------------------------------------------------------------------------

def test_the_headline_is_the_urgent_then_most_severe_part_and_the_earliest_wins_a_tie():
    assert grouping.headline([BP_HIGH, SPO2_CRITICAL, CADSS]) is SPO2_CRITICAL
    assert grouping.headline([BP_HIGH, CADSS]) is BP_HIGH
    suicide = Part("phq9.item9_positive", "high", "item 9")
    prompt = Part("cssrs.answered_when_skipped", "prompt", "answered when skipped")
    assert grouping.headline([prompt, suicide]) is suicide
    # A suicide-risk rule is urgent at any severity: it names the alert before a non-urgent "high" part.
    assert grouping.headline([BP_HIGH, Part("cssrs.moderate_risk", "moderate", "m")]).code == "cssrs.moderate_risk"
    with pytest.raises(ValueError):
        grouping.headline([])


@pytest.mark.parametrize(("before", "after", "told_again"), [
    (("vitals.bp.high", "high"), ("vitals.spo2.critical", "emergency"), True),  # became urgent
    (("vitals.spo2.critical", "emergency"), ("vitals.spo2.critical", "emergency"), False),  # as severe as before
    (("vitals.bp.high", "high"), ("vitals.bp.high", "high"), False),  # not urgent
    (("cssrs.moderate_risk", "moderate"), ("cssrs.high_risk", "high"), True),  # urgent, and more severe
    (("vitals.overdue.15min", "moderate"), ("vitals.overdue.40min", "moderate"), False),
])
def test_only_a_part_that_makes_the_alert_urgent_or_more_severe_tells_the_on_call_clinician_again(
        before, after, told_again):
    assert grouping.renotify(before=Part(before[0], before[1], "x"), before_severity=before[1],
                             after=Part(after[0], after[1], "y"), after_severity=after[1]) is told_again


def test_a_part_needs_a_known_severity_and_a_rule():
    with pytest.raises(ValueError):
        Part("vitals.bp.high", "urgent", "x")
    with pytest.raises(ValueError):
        Part("", "high", "x")


def test_the_action_taken_is_the_chosen_common_actions_then_the_free_text():
    first, second = grouping.COMMON_ACTIONS[:2]
    assert grouping.compose_action([first, second, first], "  rechecked at 10:05 ") == (
        f"{first}; {second}; rechecked at 10:05")
    assert grouping.compose_action([], "  ") == ""
    with pytest.raises(ValueError):
        grouping.compose_action(["Made up"], "")


# ---- Raising, joining, acknowledging -------------------------------------------------------------------------------

def _event(patient, parts, source_id, group=GROUP, at=None):
    return services.alert_raise_event(patient=patient, parts=parts, source_type="vitals", source_id=source_id,
                                      group_key=group, observed_at=at)


@pytest.mark.django_db
def test_one_observation_with_several_out_of_range_values_raises_one_alert_with_its_parts(patient):
    with time_machine.travel(T0, tick=False):
        alert = _event(patient, [BP_HIGH, SYS_RISE, DIA_RISE, CADSS], source_id=1)
    assert Alert.objects.count() == 1
    assert (alert.code, alert.severity, alert.status) == ("vitals.bp.high", "high", "open")
    assert [(f.code, f.severity, f.value, f.observed_at) for f in alert.findings.all()] == [
        (p.code, p.severity, p.value, T0) for p in (BP_HIGH, SYS_RISE, DIA_RISE, CADSS)]
    assert "185/110" in alert.message and "CADSS 12" in alert.message
    assert banner_alert_count(clinic_id=patient.clinic_id) == 1  # one banner line, not four
    raised = AuditEvent.objects.get(action=AuditAction.ALERT_RAISED)
    assert raised.data["findings"] == [p.code for p in (BP_HIGH, SYS_RISE, DIA_RISE, CADSS)]
    assert raised.data["joined_open_alert"] is False


@pytest.mark.django_db
def test_a_repeat_reading_updates_the_open_alert_with_its_value_and_time_and_keeps_the_history(patient):
    with time_machine.travel(T0, tick=False):
        first = _event(patient, [BP_HIGH, CADSS], source_id=1)
    later = T0 + dt.timedelta(minutes=5)
    repeat = Part("vitals.bp.high", "high", "BP 190/112 mmHg above 180/110: recheck", "190/112 mmHg")
    with time_machine.travel(later, tick=False):
        again = _event(patient, [repeat], source_id=2)
    assert again.pk == first.pk and Alert.objects.count() == 1
    again.refresh_from_db()
    assert again.updated_at == later and again.raised_at == T0
    assert "190/112" in again.message and "185/110" not in again.message  # the latest observation
    assert [(f.value, f.source_id, f.observed_at) for f in again.findings.all()] == [
        ("185/110 mmHg", 1, T0), ("CADSS 12", 1, T0), ("190/112 mmHg", 2, later)]
    joined = AuditEvent.objects.filter(action=AuditAction.ALERT_RAISED).order_by("id").last()
    assert joined.data["joined_open_alert"] is True and joined.data["source"] == "vitals:2"


@pytest.mark.django_db
def test_raising_the_same_finding_of_the_same_record_again_records_nothing(patient):
    alert = _event(patient, [BP_HIGH, CADSS], source_id=1)
    assert _event(patient, [BP_HIGH, CADSS], source_id=1).pk == alert.pk
    assert AlertFinding.objects.count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.ALERT_RAISED).count() == 1


@pytest.mark.django_db
def test_an_acknowledged_alert_is_closed_and_a_later_reading_opens_a_new_one(patient):
    nurse = UserFactory(clinic=patient.clinic, role=Role.NURSE)
    first = _event(patient, [BP_HIGH], source_id=1)
    services.alert_acknowledge(alert=first, actor=nurse, action="Rechecked: back within range")
    second = _event(patient, [CADSS], source_id=2)
    assert second.pk != first.pk and second.is_open
    first.refresh_from_db()
    assert [f.code for f in first.findings.all()] == ["vitals.bp.high"]  # the closed alert gained nothing
    assert [f.code for f in second.findings.all()] == ["vitals.cadss.dissociation"]


@pytest.mark.django_db
def test_alerts_of_other_groups_or_without_a_group_stand_alone(patient):
    a = _event(patient, [BP_HIGH], source_id=1, group="vitals:session:1")
    b = _event(patient, [BP_HIGH], source_id=2, group="vitals:session:2")
    c = _event(patient, [BP_HIGH], source_id=3, group="")
    d = _event(patient, [BP_HIGH], source_id=4, group="")
    assert len({a.pk, b.pk, c.pk, d.pk}) == 4


@pytest.mark.django_db
def test_a_finding_is_a_clinical_record_that_never_changes(patient):
    alert = _event(patient, [BP_HIGH], source_id=1)
    finding = alert.findings.get()
    finding.value = "120/80 mmHg"
    with pytest.raises(ImmutableRecord):
        finding.save()
    with pytest.raises(ImmutableRecord):
        finding.delete()
    with pytest.raises(ImmutableRecord):
        AlertFinding.objects.filter(pk=finding.pk).update(value="x")
    assert AlertFinding.objects.get().value == "185/110 mmHg"


# ---- Severity never lowered; a more severe part reaches the on-call clinician again -------------------------------

@pytest.fixture
def on_call(clinic):
    admin = UserFactory(clinic=clinic, role=Role.CLINIC_ADMIN, email="admin@clinic.test")
    nurse = UserFactory(clinic=clinic, role=Role.NURSE, email="oncall@clinic.test")
    backup = UserFactory(clinic=clinic, role=Role.PRESCRIBER, email="backup@clinic.test")
    services.oncall_setting_revise(actor=admin, fallback_clinician=None, escalation_delay_minutes=10, reason="policy")
    services.oncall_shift_add(actor=admin, clinician=nurse, backup=backup, starts_at=T0 - dt.timedelta(hours=2),
                              ends_at=T0 + dt.timedelta(hours=10))
    return nurse


def _told(alert):
    return sorted((n.round, n.tier, n.recipient.email) for n in AlertNotification.objects.filter(alert=alert,
                                                                                                channel="email"))


@pytest.mark.django_db
def test_the_severity_is_the_highest_of_the_parts_and_is_never_lowered(patient):
    alert = _event(patient, [BP_HIGH], source_id=1)
    _event(patient, [SPO2_CRITICAL], source_id=2)
    _event(patient, [Part("vitals.hr.high", "high", "heart rate 125/min above 120", "125/min")], source_id=3)
    alert.refresh_from_db()
    assert (alert.severity, alert.code) == ("emergency", "vitals.spo2.critical")
    assert alert.findings.count() == 3


@pytest.mark.django_db
def test_a_part_of_higher_severity_tells_the_on_call_clinician_and_escalates_from_then(patient, on_call):
    with time_machine.travel(T0, tick=False):
        alert = _event(patient, [BP_HIGH, CADSS], source_id=1)
    assert _told(alert) == []  # "high" vitals are not urgent: nobody is paged (as before)
    critical_at = T0 + dt.timedelta(minutes=30)
    with time_machine.travel(critical_at, tick=False):
        _event(patient, [SPO2_CRITICAL], source_id=2)
    assert _told(alert) == [(1, 1, "oncall@clinic.test")]
    # Escalation counts from when it was told, not from when the alert first opened half an hour earlier.
    assert services.alerts_escalate(critical_at + dt.timedelta(minutes=9)) == 0
    assert services.alerts_escalate(critical_at + dt.timedelta(minutes=10)) == 1
    assert (1, 2, "backup@clinic.test") in _told(alert)
    # Another critical reading at the same severity joins without paging again.
    with time_machine.travel(critical_at + dt.timedelta(minutes=11), tick=False):
        _event(patient, [Part("vitals.moaas.critical", "emergency", "MOAA/S 1", "MOAA/S 1")], source_id=3)
    assert len(_told(alert)) == 2


@pytest.mark.django_db
def test_an_urgent_alert_that_becomes_more_severe_is_told_again_in_a_new_round(patient, on_call):
    with time_machine.travel(T0, tick=False):
        alert = services.alert_raise_event(
            patient=patient, parts=[Part("cssrs.moderate_risk", "moderate", "C-SSRS moderate")],
            source_type="questionnaire_response", source_id=1, group_key="test:cssrs")
        assert services.alerts_escalate(T0 + dt.timedelta(minutes=10)) == 1  # round 1 reached tier 2
        services.alert_raise_event(patient=patient, parts=[Part("cssrs.high_risk", "high", "C-SSRS high")],
                                   source_type="questionnaire_response", source_id=2, group_key="test:cssrs")
    assert _told(alert) == [(1, 1, "oncall@clinic.test"), (1, 2, "backup@clinic.test"), (2, 1, "oncall@clinic.test")]
    second = AlertNotification.objects.filter(alert=alert, round=2).first()
    assert "told again" in second.reason
    alert.refresh_from_db()
    assert (alert.code, alert.severity) == ("cssrs.high_risk", "high")


# ---- Acknowledging: the common actions as choices plus free text ---------------------------------------------------

def test_the_acknowledge_form_offers_the_common_actions_and_combines_them_with_the_text():
    form = AcknowledgeForm({"common": [grouping.COMMON_ACTIONS[0]], "action": "BP 150/90 at 10:05"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["action"] == f"{grouping.COMMON_ACTIONS[0]}; BP 150/90 at 10:05"
    assert AcknowledgeForm({"common": [grouping.COMMON_ACTIONS[2]]}).is_valid()
    empty = AcknowledgeForm({"action": "  "})
    assert not empty.is_valid() and "Describe the action taken" in empty.errors["action"][0]
    assert not AcknowledgeForm({"common": ["Something else"]}).is_valid()


@pytest.mark.django_db
def test_the_api_lists_an_alert_with_its_parts(client, patient, bearer):
    nurse = UserFactory(clinic=patient.clinic, role=Role.NURSE)
    _event(patient, [BP_HIGH, CADSS], source_id=1, at=T0)
    (row,) = client.get("/api/v1/alerts?status=open", headers=bearer(nurse)).json()["items"]
    assert [(f["code"], f["value"], f["source_id"]) for f in row["findings"]] == [
        ("vitals.bp.high", "185/110 mmHg", 1), ("vitals.cadss.dissociation", "CADSS 12", 1)]
