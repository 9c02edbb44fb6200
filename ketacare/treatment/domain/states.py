"""The supervised dosing-session workflow as an explicit state machine with guarded transitions.

Sources:
- docs/domain/esketamine-and-rems.md §6 (pre-dose BP; elevated baseline needs a risk-benefit decision), §3.4 (ride
  home arranged), §5 (embryo-fetal toxicity), §7 (observation ≥ 2 h from the FIRST device, floor not target;
  discharge only when sedation, dissociation, respiratory status, BP and ride are confirmed by a clinician),
  §8.3 (patient REMS enrollment before the first outpatient dose).
- docs/domain/iv-ketamine.md §1 (weight recorded for mg/kg dosing), §6 (discharge criteria), §7 (pregnancy).
- docs/domain/README.md rule 7 (a HIGH suicide-risk result blocks dosing and discharge until a prescriber clears it).

Every refusal carries a stable code and a reason. Thresholds and required items come from the protocol in the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from ketacare.core.errors import Conflict
from ketacare.treatment.domain.dosing import DoseCheck, DoseOverride
from ketacare.treatment.domain.protocols import Protocol
from ketacare.treatment.domain.vitals import (
    Severity,
    VitalsReading,
    baseline_bp_elevated,
    evaluate_vitals,
)


class SessionState(StrEnum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    PRE_DOSE = "pre_dose"
    DOSING = "dosing"
    MONITORING = "monitoring"
    OBSERVATION = "observation"
    READY_FOR_DISCHARGE = "ready_for_discharge"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"
    HELD = "held"  # patient present, not dosed, with a reason
    ESCALATED = "escalated"  # transfer / emergency


class PregnancyCheck(StrEnum):
    NOT_APPLICABLE = "not_applicable"
    NEGATIVE = "negative"
    POSITIVE = "positive"


S = SessionState

TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    S.SCHEDULED: frozenset({S.CHECKED_IN, S.CANCELLED}),
    # checked_in -> discharged only for sessions without a dose (psychotherapy / integration).
    S.CHECKED_IN: frozenset({S.PRE_DOSE, S.DISCHARGED, S.CANCELLED, S.HELD, S.ESCALATED}),
    S.PRE_DOSE: frozenset({S.DOSING, S.HELD, S.ESCALATED}),
    S.DOSING: frozenset({S.MONITORING, S.ESCALATED}),
    S.MONITORING: frozenset({S.OBSERVATION, S.ESCALATED}),
    S.OBSERVATION: frozenset({S.READY_FOR_DISCHARGE, S.ESCALATED}),
    S.READY_FOR_DISCHARGE: frozenset({S.DISCHARGED, S.OBSERVATION, S.ESCALATED}),
    S.DISCHARGED: frozenset(),
    S.CANCELLED: frozenset(),
    S.HELD: frozenset(),
    S.ESCALATED: frozenset(),
}

FINAL_STATES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


@dataclass(frozen=True)
class SessionFacts:
    """What the guards need to know about one session at `now`."""

    protocol: Protocol
    now: dt.datetime
    baseline_vitals: VitalsReading | None = None
    elevated_bp_decision_documented: bool = False
    dosing_weight_kg: Decimal | None = None
    pregnancy_check: PregnancyCheck | None = None
    completed_questionnaires: frozenset[str] = field(default=frozenset())
    escort_confirmed: bool = False
    rems_patient_enrolled: bool = False
    open_high_suicide_alert: bool = False  # cleared only by a prescriber
    dose_check: DoseCheck | None = None  # None = no dose ordered
    dose_override: DoseOverride | None = None
    # Start of the observation clock: the first esketamine device / infusion start, not before dosing began.
    first_dose_at: dt.datetime | None = None
    dose_complete: bool = False  # all devices given / infusion ended
    open_critical_alert: bool = False
    discharge_criteria_met: frozenset[str] = field(default=frozenset())
    # A vitals reading recorded after the criteria were confirmed raised an alert: they must be confirmed again.
    discharge_criteria_void: bool = False
    hold_reason: str = ""
    escalation_reason: str = ""
    # Why the route is no longer cleared (eligibility approval or consent lapsed since the course started).
    clearance_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str


class TransitionRefused(Conflict):
    """The session cannot move to that state now."""

    def __init__(self, code: str, reason: str, refusals: tuple[Refusal, ...] = ()) -> None:
        refusals = refusals or (Refusal(code, reason),)
        # details are plain data: the API returns them as JSON next to code and detail.
        super().__init__(reason, refusals=[{"code": r.code, "reason": r.reason} for r in refusals])
        self.code = code
        self.reason = reason
        self.refusals = refusals


Guard = Callable[[SessionFacts], list[Refusal]]


def _pre_dose(f: SessionFacts) -> list[Refusal]:
    p, out = f.protocol, _dose_protocol(f)
    if out:
        return out
    if f.baseline_vitals is None:
        out.append(Refusal("predose.vitals_missing", "no pre-dose vitals recorded"))
    else:
        absent = [m for m in p.baseline_vitals_required if getattr(f.baseline_vitals, m) is None]
        if absent:
            out.append(Refusal("predose.vitals_incomplete", f"pre-dose vitals lack {', '.join(absent)}"))
        if any(x.severity is Severity.CRITICAL for x in evaluate_vitals(f.baseline_vitals, p.thresholds)):
            out.append(Refusal("predose.vitals_critical", "pre-dose vitals are beyond a critical threshold"))
        if baseline_bp_elevated(f.baseline_vitals, p.thresholds) and not f.elevated_bp_decision_documented:
            t = p.thresholds
            out.append(Refusal("predose.bp_elevated_needs_decision",
                               f"baseline BP above {t.baseline_systolic_elevated_above_mmhg}/"
                               f"{t.baseline_diastolic_elevated_above_mmhg} mmHg needs a documented decision"))
    if p.requires_weight and f.dosing_weight_kg is None:
        out.append(Refusal("predose.weight_missing", "no dosing weight recorded"))
    if p.requires_pregnancy_check:
        if f.pregnancy_check is None:
            out.append(Refusal("predose.pregnancy_check_missing", "pregnancy check not recorded"))
        elif f.pregnancy_check is PregnancyCheck.POSITIVE:
            out.append(Refusal("predose.pregnancy_positive", "positive pregnancy check: refer to the prescriber"))
    missing = sorted(p.pre_dose_questionnaires() - f.completed_questionnaires)
    if missing:
        out.append(Refusal("predose.questionnaires_missing", f"pre-dose questionnaires due: {', '.join(missing)}"))
    if p.requires_escort and not f.escort_confirmed:
        out.append(Refusal("predose.escort_unconfirmed", "escort / ride home not confirmed"))
    if p.rems_enrollment_required and not f.rems_patient_enrolled:
        out.append(Refusal("predose.rems_not_enrolled", "patient not enrolled in the REMS"))
    if f.clearance_problems:
        out.append(Refusal("predose.not_cleared", "; ".join(f.clearance_problems)))
    if f.open_high_suicide_alert:
        out.append(Refusal("predose.suicide_alert_open",
                           "an open high suicide-risk alert must be cleared by a prescriber"))
    if f.dose_check is None:
        out.append(Refusal("predose.no_dose_ordered", "no dose ordered"))
    elif f.dose_check.refused:
        out.append(Refusal("predose.dose_refused", "; ".join(i.message for i in f.dose_check.issues)))
    elif not f.dose_check.allows(f.dose_override):
        out.append(Refusal("predose.override_required", "dose outside protocol needs a prescriber override: "
                           + "; ".join(i.message for i in f.dose_check.issues)))
    return out


def _dose_given(f: SessionFacts) -> list[Refusal]:
    out = []
    if f.first_dose_at is None:
        out.append(Refusal("dosing.not_started", "first dose time not recorded"))
    if not f.dose_complete:
        out.append(Refusal("dosing.incomplete", "dose not complete (devices / infusion)"))
    return out


def _no_critical_alert(f: SessionFacts) -> list[Refusal]:
    if f.open_critical_alert:
        return [Refusal("monitoring.critical_alert_open", "a critical alert is open")]
    return []


def _discharge(f: SessionFacts) -> list[Refusal]:
    """Observation minimum from the first dose (elapsed >= minimum is enough) and every criterion recorded."""
    p, out = f.protocol, []
    if p.involves_dose:
        minimum = dt.timedelta(minutes=p.observation_minimum_minutes)
        if f.first_dose_at is None:
            out.append(Refusal("discharge.no_first_dose", "first dose time not recorded"))
        elif f.now - f.first_dose_at < minimum:
            left = minimum - (f.now - f.first_dose_at)
            out.append(Refusal("discharge.observation_minimum",
                               f"observation minimum of {p.observation_minimum_minutes} min from the first dose "
                               f"not reached ({int(left.total_seconds())} s left)"))
    missing = [c for c in p.discharge_criteria if c not in f.discharge_criteria_met]
    if f.discharge_criteria_void:
        out.append(Refusal("discharge.criteria_void", "vital signs recorded after the discharge criteria were "
                           "confirmed raised an alert: confirm the criteria again"))
    elif missing:
        out.append(Refusal("discharge.criteria_missing", f"discharge criteria not recorded: {', '.join(missing)}"))
    if f.open_high_suicide_alert:
        out.append(Refusal("discharge.suicide_alert_open",
                           "an open high suicide-risk alert must be cleared by a prescriber"))
    out += [Refusal("discharge.critical_alert_open", r.reason) for r in _no_critical_alert(f)]
    return out


def _no_dose_completion(f: SessionFacts) -> list[Refusal]:
    if f.protocol.involves_dose:
        return [Refusal("session.requires_dose", "a dosing session must pass through pre-dose and dosing")]
    return _discharge(f)


def _dose_protocol(f: SessionFacts) -> list[Refusal]:
    if f.protocol.involves_dose:
        return []
    return [Refusal("predose.no_dose_protocol", f"protocol {f.protocol.ref} gives no dose")]


def _hold(f: SessionFacts) -> list[Refusal]:
    return [] if f.hold_reason.strip() else [Refusal("hold.reason_missing", "holding a dose needs a reason")]


def _escalate(f: SessionFacts) -> list[Refusal]:
    return [] if f.escalation_reason.strip() else [Refusal("escalate.reason_missing", "escalation needs a reason")]


GUARDS: dict[tuple[SessionState, SessionState], Guard] = {
    (S.CHECKED_IN, S.PRE_DOSE): _dose_protocol,
    (S.PRE_DOSE, S.DOSING): _pre_dose,
    (S.DOSING, S.MONITORING): _dose_given,
    (S.MONITORING, S.OBSERVATION): _no_critical_alert,
    (S.OBSERVATION, S.READY_FOR_DISCHARGE): _discharge,
    (S.READY_FOR_DISCHARGE, S.DISCHARGED): _discharge,
    (S.CHECKED_IN, S.DISCHARGED): _no_dose_completion,
    **{(s, S.HELD): _hold for s in S if S.HELD in TRANSITIONS[s]},
    **{(s, S.ESCALATED): _escalate for s in S if S.ESCALATED in TRANSITIONS[s]},
}


def transition_refusals(current: SessionState, target: SessionState, ctx: SessionFacts) -> tuple[Refusal, ...]:
    """Every reason the move is refused; empty when it is allowed."""
    if current == target:
        return (Refusal("transition.same_state", f"session is already {current}"),)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        return (Refusal("transition.not_allowed",
                        f"cannot go from {current} to {target}; allowed from {current}: {allowed}"),)
    guard = GUARDS.get((current, target))
    return tuple(guard(ctx)) if guard else ()


def check_transition(current: SessionState, target: SessionState, ctx: SessionFacts) -> None:
    """Return if allowed; otherwise raise TransitionRefused with the first refusal (all are in `.refusals`)."""
    refusals = transition_refusals(current, target, ctx)
    if refusals:
        raise TransitionRefused(refusals[0].code, refusals[0].reason, refusals)
