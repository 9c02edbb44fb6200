"""Acceptance 1 at the service and API: every illegal transition is refused with its reason (all pairs), each
transition is timestamped with its user, and discharge before the observation minimum or without the criteria is
refused."""

import datetime as dt
import itertools

import pytest
import time_machine

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.treatment import services
from ketacare.treatment.domain.states import TRANSITIONS, SessionState, TransitionRefused
from ketacare.treatment.models import SessionTransition
from ketacare.treatment.tests.factories import SessionFactory, staff, started_course, walk
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
ILLEGAL = [(a, b) for a, b in itertools.product(SessionState, SessionState) if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused_with_its_reason_and_changes_nothing(current, target):
    session = SessionFactory(state=current)
    nurse = UserFactory(role=Role.PRESCRIBER, clinic=session.clinic)  # holds every transition permission
    with pytest.raises(TransitionRefused) as exc:
        services.session_transition(actor=nurse, session=session, to=target, reason="because")
    assert exc.value.code in ("transition.not_allowed", "transition.same_state")
    assert exc.value.http_status == 409 and str(current) in exc.value.reason
    session.refresh_from_db()
    assert session.state == current
    assert not SessionTransition.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SESSION_TRANSITIONED).exists()


def test_every_transition_is_recorded_with_time_and_user():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, traveller=traveller)
    rows = list(session.transitions.all())
    assert [(t.from_state, t.to_state) for t in rows] == [
        ("scheduled", "checked_in"), ("checked_in", "pre_dose"), ("pre_dose", "dosing"), ("dosing", "monitoring"),
        ("monitoring", "observation"), ("observation", "ready_for_discharge"), ("ready_for_discharge", "discharged")]
    assert all(t.by == nurse and t.at >= T0 for t in rows)
    assert rows[-1].at == T0 + dt.timedelta(minutes=5 + 120)
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_TRANSITIONED, actor=nurse).count() == 7


@pytest.fixture
def observed():
    """An esketamine session in observation: first device at T0 (two devices, 5 min apart)."""
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until=SessionState.OBSERVATION, traveller=traveller)
        yield session, nurse, traveller


def test_discharge_one_second_before_the_observation_minimum_is_refused(observed):
    session, nurse, traveller = observed
    services.discharge_criteria_record(actor=nurse, session=session,
                                       criteria=["sedation_resolved", "dissociation_resolved",
                                                 "respiratory_status_normal", "bp_acceptable", "ride_confirmed",
                                                 "clinician_judged_stable"])
    traveller.move_to(T0 + dt.timedelta(minutes=120) - dt.timedelta(seconds=1))
    with pytest.raises(TransitionRefused) as exc:
        services.session_transition(actor=nurse, session=session, to="ready_for_discharge")
    assert exc.value.code == "discharge.observation_minimum" and "1 s left" in exc.value.reason
    traveller.move_to(T0 + dt.timedelta(minutes=120))
    services.session_transition(actor=nurse, session=session, to="ready_for_discharge")
    services.session_transition(actor=nurse, session=session, to="discharged")
    session.refresh_from_db()
    assert session.state == "discharged" and session.discharged_by == nurse


def test_a_clinic_cannot_shorten_the_esketamine_observation():
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    with pytest.raises(Exception, match="below the floor"):
        services.protocol_configure(actor=admin, protocol_ref="esketamine-trd@1", reason="faster",
                                    overrides={"observation_minimum_minutes": 90})


def test_discharge_with_a_criterion_missing_is_refused_with_its_name(observed):
    session, nurse, traveller = observed
    services.discharge_criteria_record(actor=nurse, session=session,
                                       criteria=["sedation_resolved", "dissociation_resolved",
                                                 "respiratory_status_normal", "bp_acceptable",
                                                 "clinician_judged_stable"])
    traveller.move_to(T0 + dt.timedelta(hours=3))
    with pytest.raises(TransitionRefused) as exc:
        services.session_transition(actor=nurse, session=session, to="ready_for_discharge")
    assert exc.value.code == "discharge.criteria_missing" and "ride_confirmed" in exc.value.reason


def test_hold_needs_a_reason_and_keeps_it():
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    services.session_transition(actor=nurse, session=session, to="checked_in")
    with pytest.raises(TransitionRefused, match="needs a reason"):
        services.session_transition(actor=nurse, session=session, to="held")
    services.session_transition(actor=nurse, session=session, to="held", reason="BP 190/115 twice")
    session.refresh_from_db()
    assert session.state == "held" and session.ended_reason == "BP 190/115 twice"


def test_escalation_raises_an_emergency_alert():
    from ketacare.safety.models import Alert

    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    services.session_transition(actor=nurse, session=session, to="checked_in")
    services.session_transition(actor=nurse, session=session, to="escalated", reason="chest pain: ambulance")
    alert = Alert.objects.get(source_type="session", source_id=session.pk)
    assert alert.severity == "emergency" and "chest pain" in alert.message


def test_a_therapist_cannot_start_dosing():
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    therapist = UserFactory(role=Role.THERAPIST, clinic=session.clinic)
    services.session_transition(actor=therapist, session=session, to="checked_in")
    services.session_transition(actor=therapist, session=session, to="pre_dose")
    with pytest.raises(PermissionDenied):
        services.session_transition(actor=therapist, session=session, to="dosing")


def test_api_transition_refused_is_409_with_the_reason_and_every_refusal(client):
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    headers = {"Authorization": f"Bearer {token_create(user=nurse)}"}
    url = f"/api/v1/sessions/{session.pk}/transition"
    response = client.post(url, {"to": "discharged"}, content_type="application/json", headers=headers)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition.not_allowed" and "cannot go from scheduled to discharged" in body["detail"]
    assert client.post(url, {"to": "checked_in", "room": "4"}, content_type="application/json",
                       headers=headers).json()["state"] == "checked_in"
    client.post(url, {"to": "pre_dose"}, content_type="application/json", headers=headers)
    response = client.post(url, {"to": "dosing"}, content_type="application/json", headers=headers)
    assert response.status_code == 409
    codes = [r["code"] for r in response.json()["refusals"]]
    assert {"predose.vitals_missing", "predose.escort_unconfirmed", "predose.no_dose_ordered",
            "predose.questionnaires_missing", "predose.rems_not_enrolled"} <= set(codes)
    response = client.post(url, {"to": "flying"}, content_type="application/json", headers=headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "to"]
    assert client.post(url, {}, content_type="application/json", headers=headers).status_code == 422
