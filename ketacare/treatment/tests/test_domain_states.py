"""Session state machine: the whole transition table, every guard, and the exact observation boundary."""

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.core.errors import DomainError
from ketacare.treatment.domain.dosing import DoseCheck, DoseIssue, DoseOverride, dose_check
from ketacare.treatment.domain.protocols import (
    ESKETAMINE_TRD,
    IV_KETAMINE_INDUCTION,
    PSYCHOTHERAPY_INTEGRATION,
    Protocol,
    with_overrides,
)
from ketacare.treatment.domain.states import (
    TRANSITIONS,
    PregnancyCheck,
    SessionFacts,
    SessionState,
    TransitionRefused,
    check_transition,
    transition_refusals,
)
from ketacare.treatment.domain.vitals import VitalsReading

S = SessionState
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # first esketamine device

# Written from the issue text, independently of TRANSITIONS.
EXPECTED_ALLOWED = {
    ("scheduled", "checked_in"), ("scheduled", "cancelled"),
    ("checked_in", "pre_dose"), ("checked_in", "discharged"), ("checked_in", "cancelled"),
    ("checked_in", "held"), ("checked_in", "escalated"),
    ("pre_dose", "dosing"), ("pre_dose", "held"), ("pre_dose", "escalated"),
    ("dosing", "monitoring"), ("dosing", "escalated"),
    ("monitoring", "observation"), ("monitoring", "escalated"),
    ("observation", "ready_for_discharge"), ("observation", "escalated"),
    ("ready_for_discharge", "discharged"), ("ready_for_discharge", "observation"),
    ("ready_for_discharge", "escalated"),
}
ALL_PAIRS = list(itertools.product(SessionState, SessionState))


def ready(protocol: Protocol = ESKETAMINE_TRD, **changes) -> SessionFacts:
    """Facts that satisfy every guard of `protocol` at 2 h after the first dose."""
    facts = SessionFacts(
        protocol=protocol,
        now=T0 + dt.timedelta(hours=2),
        baseline_vitals=VitalsReading(T0 - dt.timedelta(minutes=10), systolic_mmhg=128, diastolic_mmhg=82,
                                      heart_rate_bpm=72, spo2_pct=98, resp_rate_per_min=14),
        dosing_weight_kg=Decimal(80),
        pregnancy_check=PregnancyCheck.NEGATIVE,
        completed_questionnaires=protocol.pre_dose_questionnaires(),
        escort_confirmed=True,
        rems_patient_enrolled=True,
        dose_check=DoseCheck(),
        first_dose_at=T0,
        dose_complete=True,
        discharge_criteria_met=frozenset(protocol.discharge_criteria),
        hold_reason="patient unwell",
        escalation_reason="transfer to ED",
    )
    return dataclasses.replace(facts, **changes)


def ready_for(current: SessionState, target: SessionState) -> SessionFacts:
    no_dose = (current, target) == (S.CHECKED_IN, S.DISCHARGED)
    return ready(PSYCHOTHERAPY_INTEGRATION if no_dose else ESKETAMINE_TRD)


def refused_code(current: SessionState, target: SessionState, facts: SessionFacts) -> str:
    with pytest.raises(TransitionRefused) as exc:
        check_transition(current, target, facts)
    assert exc.value.reason
    return exc.value.code


def test_state_values_are_the_published_names():
    assert [s.value for s in SessionState] == [
        "scheduled", "checked_in", "pre_dose", "dosing", "monitoring", "observation", "ready_for_discharge",
        "discharged", "cancelled", "held", "escalated"]


def test_transition_table_matches_the_issue():
    actual = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
    assert actual == EXPECTED_ALLOWED
    assert set(TRANSITIONS) == set(SessionState)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_state_pair_is_allowed_by_the_table_or_refused_with_a_reason(current, target):
    facts = ready_for(current, target)
    if (current.value, target.value) in EXPECTED_ALLOWED:
        assert check_transition(current, target, facts) is None
    else:
        code = refused_code(current, target, facts)
        assert code == ("transition.same_state" if current == target else "transition.not_allowed")


@pytest.mark.parametrize("final", [S.DISCHARGED, S.CANCELLED, S.HELD, S.ESCALATED])
def test_final_states_allow_nothing_and_say_so(final):
    refusals = transition_refusals(final, S.CHECKED_IN, ready())
    assert refusals[0].code == "transition.not_allowed"
    assert "final state" in refusals[0].reason


@pytest.mark.parametrize(("change", "code"), [
    ({"baseline_vitals": None}, "predose.vitals_missing"),
    ({"baseline_vitals": VitalsReading(T0, systolic_mmhg=128, diastolic_mmhg=82, heart_rate_bpm=72)},
     "predose.vitals_incomplete"),
    ({"baseline_vitals": VitalsReading(T0, systolic_mmhg=141, diastolic_mmhg=82, heart_rate_bpm=72, spo2_pct=98)},
     "predose.bp_elevated_needs_decision"),
    ({"baseline_vitals": VitalsReading(T0, systolic_mmhg=130, diastolic_mmhg=91, heart_rate_bpm=72, spo2_pct=98)},
     "predose.bp_elevated_needs_decision"),
    ({"baseline_vitals": VitalsReading(T0, systolic_mmhg=128, diastolic_mmhg=82, heart_rate_bpm=72, spo2_pct=85)},
     "predose.vitals_critical"),
    ({"pregnancy_check": None}, "predose.pregnancy_check_missing"),
    ({"pregnancy_check": PregnancyCheck.POSITIVE}, "predose.pregnancy_positive"),
    ({"completed_questionnaires": frozenset({"phq-9"})}, "predose.questionnaires_missing"),
    ({"escort_confirmed": False}, "predose.escort_unconfirmed"),
    ({"rems_patient_enrolled": False}, "predose.rems_not_enrolled"),
    ({"open_high_suicide_alert": True}, "predose.suicide_alert_open"),
    ({"clearance_problems": ("Consent withdrawn on 2026-03-01",)}, "predose.not_cleared"),
    ({"dose_check": None}, "predose.no_dose_ordered"),
    ({"dose_check": DoseCheck((DoseIssue("dose.not_whole_devices", "70 mg", overridable=False),))},
     "predose.dose_refused"),
    ({"dose_check": DoseCheck((DoseIssue("dose.outside_protocol", "28 mg"),))}, "predose.override_required"),
])
def test_each_pre_dose_guard_blocks_dosing_on_its_own(change, code):
    facts = ready(**change)
    assert [r.code for r in transition_refusals(S.PRE_DOSE, S.DOSING, facts)] == [code]


def test_elevated_baseline_bp_is_allowed_with_a_documented_decision():
    high = VitalsReading(T0, systolic_mmhg=150, diastolic_mmhg=95, heart_rate_bpm=72, spo2_pct=98)
    assert check_transition(S.PRE_DOSE, S.DOSING,
                            ready(baseline_vitals=high, elevated_bp_decision_documented=True)) is None


def test_baseline_exactly_at_140_over_90_is_not_elevated():
    at_limit = VitalsReading(T0, systolic_mmhg=140, diastolic_mmhg=90, heart_rate_bpm=72, spo2_pct=98)
    assert check_transition(S.PRE_DOSE, S.DOSING, ready(baseline_vitals=at_limit)) is None


def test_elevated_bp_rule_follows_the_clinic_protocol():
    strict = with_overrides(ESKETAMINE_TRD, thresholds={"baseline_systolic_elevated_above_mmhg": 130})
    reading = VitalsReading(T0, systolic_mmhg=135, diastolic_mmhg=80, heart_rate_bpm=72, spo2_pct=98)
    assert check_transition(S.PRE_DOSE, S.DOSING, ready(baseline_vitals=reading)) is None
    assert refused_code(S.PRE_DOSE, S.DOSING, ready(strict, baseline_vitals=reading)) == (
        "predose.bp_elevated_needs_decision")


def test_iv_dosing_needs_a_recorded_weight_but_esketamine_does_not():
    assert refused_code(S.PRE_DOSE, S.DOSING, ready(IV_KETAMINE_INDUCTION, dosing_weight_kg=None)) == (
        "predose.weight_missing")
    assert check_transition(S.PRE_DOSE, S.DOSING, ready(ESKETAMINE_TRD, dosing_weight_kg=None)) is None


def test_iv_needs_no_rems_enrollment():
    assert check_transition(S.PRE_DOSE, S.DOSING, ready(IV_KETAMINE_INDUCTION, rems_patient_enrolled=False)) is None


def test_pregnancy_check_not_applicable_passes():
    facts = ready(pregnancy_check=PregnancyCheck.NOT_APPLICABLE)
    assert check_transition(S.PRE_DOSE, S.DOSING, facts) is None


def test_dose_outside_protocol_passes_with_a_prescriber_override():
    check = dose_check(ESKETAMINE_TRD, dose_mg=Decimal(28))
    assert refused_code(S.PRE_DOSE, S.DOSING, ready(dose_check=check)) == "predose.override_required"
    override = DoseOverride(prescriber="dr-lee", reason="age 70, tolerability")
    assert check_transition(S.PRE_DOSE, S.DOSING, ready(dose_check=check, dose_override=override)) is None


def test_refused_dose_cannot_be_overridden():
    check = dose_check(ESKETAMINE_TRD, dose_mg=Decimal(70))
    override = DoseOverride(prescriber="dr-lee", reason="insist")
    assert refused_code(S.PRE_DOSE, S.DOSING, ready(dose_check=check, dose_override=override)) == (
        "predose.dose_refused")


def test_all_pre_dose_problems_are_listed_together():
    facts = ready(escort_confirmed=False, open_high_suicide_alert=True, dose_check=None)
    with pytest.raises(TransitionRefused) as exc:
        check_transition(S.PRE_DOSE, S.DOSING, facts)
    assert [r.code for r in exc.value.refusals] == [
        "predose.escort_unconfirmed", "predose.suicide_alert_open", "predose.no_dose_ordered"]
    assert exc.value.code == "predose.escort_unconfirmed"


def test_transition_refused_is_a_domain_error_with_a_conflict_status():
    with pytest.raises(DomainError) as exc:
        check_transition(S.SCHEDULED, S.DISCHARGED, ready())
    assert exc.value.http_status == 409
    assert exc.value.code == "transition.not_allowed"
    assert "scheduled" in str(exc.value) and "discharged" in str(exc.value)


def test_no_dose_protocol_cannot_enter_pre_dose_and_dosing_protocol_cannot_skip_it():
    assert refused_code(S.CHECKED_IN, S.PRE_DOSE, ready(PSYCHOTHERAPY_INTEGRATION)) == "predose.no_dose_protocol"
    assert refused_code(S.CHECKED_IN, S.DISCHARGED, ready(ESKETAMINE_TRD)) == "session.requires_dose"


def test_therapy_session_completion_is_blocked_by_an_open_suicide_alert():
    facts = ready(PSYCHOTHERAPY_INTEGRATION, open_high_suicide_alert=True)
    assert refused_code(S.CHECKED_IN, S.DISCHARGED, facts) == "discharge.suicide_alert_open"


@pytest.mark.parametrize(("change", "code"), [
    ({"first_dose_at": None}, "dosing.not_started"),
    ({"dose_complete": False}, "dosing.incomplete"),
])
def test_monitoring_needs_the_dose_given(change, code):
    assert refused_code(S.DOSING, S.MONITORING, ready(**change)) == code


def test_observation_is_refused_while_a_critical_alert_is_open():
    assert refused_code(S.MONITORING, S.OBSERVATION, ready(open_critical_alert=True)) == (
        "monitoring.critical_alert_open")


DISCHARGE_STEPS = [(S.OBSERVATION, S.READY_FOR_DISCHARGE), (S.READY_FOR_DISCHARGE, S.DISCHARGED)]


@pytest.mark.parametrize(("current", "target"), DISCHARGE_STEPS)
def test_discharge_refused_at_119_min_59_s_after_the_first_device(current, target):
    facts = ready(now=T0 + dt.timedelta(minutes=119, seconds=59))
    assert refused_code(current, target, facts) == "discharge.observation_minimum"
    assert "1 s left" in transition_refusals(current, target, facts)[0].reason


@pytest.mark.parametrize(("current", "target"), DISCHARGE_STEPS)
def test_discharge_allowed_at_exactly_120_min_after_the_first_device(current, target):
    assert check_transition(current, target, ready(now=T0 + dt.timedelta(minutes=120))) is None


def test_observation_clock_runs_from_the_first_device_not_the_last():
    # 84 mg: devices at T0, T0+5, T0+10. At T0+120 the 2 h count from the FIRST device is met.
    assert check_transition(S.OBSERVATION, S.READY_FOR_DISCHARGE,
                            ready(first_dose_at=T0, now=T0 + dt.timedelta(minutes=120))) is None
    assert refused_code(S.OBSERVATION, S.READY_FOR_DISCHARGE,
                        ready(first_dose_at=T0 + dt.timedelta(minutes=10),
                              now=T0 + dt.timedelta(minutes=120))) == "discharge.observation_minimum"


def test_clinic_can_lengthen_the_observation_minimum():
    longer = with_overrides(ESKETAMINE_TRD, observation_minimum_minutes=150)
    assert refused_code(S.READY_FOR_DISCHARGE, S.DISCHARGED,
                        ready(longer, now=T0 + dt.timedelta(minutes=149, seconds=59))) == (
        "discharge.observation_minimum")
    assert check_transition(S.READY_FOR_DISCHARGE, S.DISCHARGED,
                            ready(longer, now=T0 + dt.timedelta(minutes=150))) is None


def test_discharge_without_a_first_dose_time_is_refused():
    assert refused_code(S.OBSERVATION, S.READY_FOR_DISCHARGE, ready(first_dose_at=None)) == (
        "discharge.no_first_dose")


@pytest.mark.parametrize("criterion", ESKETAMINE_TRD.discharge_criteria)
def test_discharge_refused_when_any_esketamine_criterion_is_missing(criterion):
    facts = ready(discharge_criteria_met=frozenset(ESKETAMINE_TRD.discharge_criteria) - {criterion})
    refusal = transition_refusals(S.READY_FOR_DISCHARGE, S.DISCHARGED, facts)
    assert [r.code for r in refusal] == ["discharge.criteria_missing"]
    assert criterion in refusal[0].reason


def test_iv_discharge_uses_its_own_criteria():
    facts = ready(IV_KETAMINE_INDUCTION, discharge_criteria_met=frozenset({"vitals_near_baseline"}))
    refusal = transition_refusals(S.READY_FOR_DISCHARGE, S.DISCHARGED, facts)
    assert "alert_and_oriented" in refusal[0].reason and "escort_present" in refusal[0].reason


@pytest.mark.parametrize(("change", "code"), [
    ({"open_high_suicide_alert": True}, "discharge.suicide_alert_open"),
    ({"open_critical_alert": True}, "discharge.critical_alert_open"),
])
def test_open_alerts_block_discharge(change, code):
    assert refused_code(S.READY_FOR_DISCHARGE, S.DISCHARGED, ready(**change)) == code


@pytest.mark.parametrize("current", [s for s in S if S.HELD in TRANSITIONS[s]])
def test_hold_needs_a_reason(current):
    assert refused_code(current, S.HELD, ready(hold_reason="  ")) == "hold.reason_missing"


@pytest.mark.parametrize("current", [s for s in S if S.ESCALATED in TRANSITIONS[s]])
def test_escalation_needs_a_reason(current):
    assert refused_code(current, S.ESCALATED, ready(escalation_reason="")) == "escalate.reason_missing"


facts_strategy = st.builds(
    ready,
    protocol=st.sampled_from([ESKETAMINE_TRD, IV_KETAMINE_INDUCTION, PSYCHOTHERAPY_INTEGRATION]),
    now=st.datetimes(min_value=dt.datetime(2026, 3, 2, 8), max_value=dt.datetime(2026, 3, 2, 13),
                     timezones=st.just(dt.UTC)),
    escort_confirmed=st.booleans(),
    open_high_suicide_alert=st.booleans(),
    open_critical_alert=st.booleans(),
    dose_complete=st.booleans(),
    first_dose_at=st.none() | st.just(T0),
    hold_reason=st.sampled_from(["", "unwell"]),
    escalation_reason=st.sampled_from(["", "transfer"]),
    pregnancy_check=st.none() | st.sampled_from(PregnancyCheck),
)


@settings(max_examples=300, deadline=None)
@given(current=st.sampled_from(SessionState), target=st.sampled_from(SessionState), facts=facts_strategy)
def test_any_pair_is_either_allowed_by_the_table_or_refused_with_a_reason(current, target, facts):
    try:
        check_transition(current, target, facts)
    except TransitionRefused as exc:
        assert exc.code and exc.reason
        assert exc.refusals[0].code == exc.code
    else:
        assert target in TRANSITIONS[current]
