"""Raising and acknowledging alerts: idempotent raise, who/when/what on acknowledgement, final once acknowledged."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.safety.models import Alert, AlertLocked
from ketacare.safety.selectors import AlertNotFound
from ketacare.safety.services import AlertAlreadyAcknowledged, alert_acknowledge, alert_raise
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def raise_one(patient, actor=None, code="phq9.item9_positive", source_id=7):
    return alert_raise(patient=patient, code=code, severity="high", message="PHQ-9 item 9 positive",
                       source_type="questionnaire_response", source_id=source_id, actor=actor)


def test_raising_is_idempotent_per_source_and_rule_and_audited(patient, nurse):
    alert = raise_one(patient, nurse)
    assert raise_one(patient, nurse) == alert
    assert raise_one(patient, nurse, code="phq9.item9_unanswered") != alert
    assert raise_one(patient, nurse, source_id=8) != alert
    assert Alert.objects.count() == 3
    assert (alert.clinic_id, alert.status, alert.raised_by) == (patient.clinic_id, "open", nurse)
    event = AuditEvent.objects.filter(action=AuditAction.ALERT_RAISED).first()
    assert event.patient_id == patient.pk and event.data["severity"] == "high"
    assert AuditEvent.objects.filter(action=AuditAction.ALERT_RAISED).count() == 3


def test_a_system_raised_alert_is_audited_without_a_user(patient):
    raise_one(patient)
    event = AuditEvent.objects.get(action=AuditAction.ALERT_RAISED)
    assert (event.actor, event.actor_username, event.clinic_id) == (None, "system", patient.clinic_id)


def test_acknowledging_records_who_when_what_and_the_time_it_took(patient, nurse, prescriber):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        alert = raise_one(patient, nurse)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 42, 30, tzinfo=dt.UTC), tick=False):
        done = alert_acknowledge(alert=alert, actor=prescriber, action="  C-SSRS screen: low risk  ")
    done.refresh_from_db()
    assert (done.status, done.acknowledged_by, done.action_taken) == ("acknowledged", prescriber,
                                                                      "C-SSRS screen: low risk")
    assert done.acknowledged_at == dt.datetime(2026, 3, 2, 9, 42, 30, tzinfo=dt.UTC)
    assert (done.seconds_to_acknowledge, done.time_to_acknowledge) == (2550, "42 min")
    event = AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert (event.actor, event.patient_id, event.data["seconds_to_acknowledge"]) == (prescriber, patient.pk, 2550)


@pytest.mark.parametrize("seconds, shown", [(0, "0 s"), (59, "59 s"), (3600, "1 h 00 min"), (93784, "1 d 2 h")])
def test_time_to_acknowledge_reads_naturally(seconds, shown):
    assert Alert(seconds_to_acknowledge=seconds).time_to_acknowledge == shown


def test_the_action_taken_is_required(patient, nurse):
    alert = raise_one(patient)
    with pytest.raises(ValidationError) as refused:
        alert_acknowledge(alert=alert, actor=nurse, action="   ")
    assert "action" in refused.value.message_dict
    assert Alert.objects.get().status == "open"
    assert not AuditEvent.objects.filter(action=AuditAction.ALERT_ACKNOWLEDGED).exists()


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.RESEARCHER])
def test_only_nurses_and_prescribers_acknowledge(patient, role):
    alert = raise_one(patient)
    with pytest.raises(PermissionDenied):
        alert_acknowledge(alert=alert, actor=UserFactory(role=role, clinic=patient.clinic), action="seen")
    assert Alert.objects.get().status == "open"


def test_another_clinics_nurse_cannot_acknowledge(patient):
    alert = raise_one(patient)
    with pytest.raises(AlertNotFound):
        alert_acknowledge(alert=alert, actor=UserFactory(role=Role.NURSE), action="seen")


def test_an_acknowledged_alert_is_final(patient, nurse, prescriber):
    alert = alert_acknowledge(alert=raise_one(patient), actor=nurse, action="Assessed")
    with pytest.raises(AlertAlreadyAcknowledged):
        alert_acknowledge(alert=alert, actor=prescriber, action="Assessed again")
    alert.action_taken = "rewritten"
    with pytest.raises(AlertLocked):
        alert.save()
    with pytest.raises(AlertLocked):
        alert.delete()
    with pytest.raises(AlertLocked):
        Alert.objects.all().delete()
    assert Alert.objects.get().action_taken == "Assessed"
    # Raising the same rule on the same source again does not reopen it.
    assert raise_one(patient).status == "acknowledged"
