"""What the session page and the floor board show, computed from the rows and the domain (read-only)."""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from ketacare.core import clock
from ketacare.safety.domain.grouping import COMMON_ACTIONS
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.dosing import devices_due, minutes_text
from ketacare.treatment.domain.protocols import DeviceDoseRule, Protocol
from ketacare.treatment.domain.states import TRANSITIONS, Refusal, SessionState, transition_refusals
from ketacare.treatment.domain.vitals import Severity, evaluate_vitals, vitals_due
from ketacare.treatment.models import DosingSession

NEXT_STEP = {  # the usual next state, offered as the main button
    SessionState.SCHEDULED: SessionState.CHECKED_IN,
    SessionState.CHECKED_IN: SessionState.PRE_DOSE,
    SessionState.PRE_DOSE: SessionState.DOSING,
    SessionState.DOSING: SessionState.MONITORING,
    SessionState.MONITORING: SessionState.OBSERVATION,
    SessionState.OBSERVATION: SessionState.READY_FOR_DISCHARGE,
    SessionState.READY_FOR_DISCHARGE: SessionState.DISCHARGED,
}
BUTTON = {
    SessionState.CHECKED_IN: "Check in", SessionState.PRE_DOSE: "Start pre-dose assessment",
    SessionState.DOSING: "Start dosing", SessionState.MONITORING: "Dose complete: start monitoring",
    SessionState.OBSERVATION: "Start observation", SessionState.READY_FOR_DISCHARGE: "Ready for discharge",
    SessionState.DISCHARGED: "Discharge (sign-off)", SessionState.CANCELLED: "Cancel session",
    SessionState.HELD: "Hold (do not dose)", SessionState.ESCALATED: "Escalate (transfer / emergency)",
}
NEEDS_REASON = frozenset({SessionState.HELD, SessionState.ESCALATED, SessionState.CANCELLED})


def short_title(title: str) -> str:
    """"Esketamine nasal spray (SPRAVATO), treatment-resistant depression" -> "Esketamine nasal spray"."""
    return title.split(",")[0].split(" (")[0]


def minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def clock_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}"


@dataclass
class Observation:
    first_dose_at: dt.datetime | None
    minimum_minutes: int
    ends_at: dt.datetime | None = None
    remaining_seconds: int = 0
    elapsed_minutes: int = 0

    @property
    def reached(self) -> bool:
        return self.first_dose_at is not None and self.remaining_seconds <= 0

    @property
    def remaining_text(self) -> str:
        return clock_text(max(self.remaining_seconds, 0))


def observation(session: DosingSession, protocol: Protocol, now: dt.datetime) -> Observation:
    start = sel.observation_start(session)
    obs = Observation(start, protocol.observation_minimum_minutes)
    if start is not None:
        obs.ends_at = start + dt.timedelta(minutes=protocol.observation_minimum_minutes)
        end = session.discharged_at or now
        obs.remaining_seconds = int((obs.ends_at - end).total_seconds())
        obs.elapsed_minutes = minutes(end - start)
    return obs


@dataclass
class Actions:
    primary: SessionState | None
    others: list[SessionState] = field(default_factory=list)

    def buttons(self):
        items = ([self.primary] if self.primary else []) + self.others
        return [{"to": s.value, "label": BUTTON.get(s, s.value), "primary": s == self.primary,
                 "needs_reason": s in NEEDS_REASON, "room": s == SessionState.CHECKED_IN} for s in items]


def actions(session: DosingSession, protocol: Protocol) -> Actions:
    state = SessionState(session.state)
    allowed = TRANSITIONS[state]
    primary = NEXT_STEP.get(state)
    if state == SessionState.CHECKED_IN and not protocol.involves_dose:
        primary = SessionState.DISCHARGED
    if primary not in allowed:
        primary = None
    others: list[SessionState] = [s for s in (SessionState.OBSERVATION, SessionState.HELD, SessionState.CANCELLED,
                          SessionState.ESCALATED) if s in allowed and s != primary]
    if state == SessionState.CHECKED_IN and protocol.involves_dose:
        others = [s for s in others if s != SessionState.DISCHARGED]
    return Actions(primary, others)


def vitals_rows(session: DosingSession, protocol: Protocol, readings) -> list[dict]:
    """Each reading with the measures beyond a threshold flagged."""
    baseline = next((r for r in reversed(readings) if r.pre_dose), None)
    rows = []
    for r in readings:
        findings = evaluate_vitals(sel.to_domain_reading(r), protocol.thresholds,
                                   None if r.pre_dose or baseline is None else sel.to_domain_reading(baseline))
        codes = {f.code.split(".")[0] for f in findings}
        rows.append({"reading": r, "findings": findings,
                     "flag_bp": "bp" in codes, "flag_hr": "hr" in codes, "flag_spo2": "spo2" in codes,
                     "flag_rr": "rr" in codes, "flag_moaas": "moaas" in codes, "flag_cadss": "cadss" in codes,
                     "critical": any(f.severity is Severity.CRITICAL for f in findings),
                     "since_dose": (minutes(r.taken_at - session.first_dose_at)
                                    if session.first_dose_at and not r.pre_dose else None)})
    return rows


def vitals_schedule(session: DosingSession, protocol: Protocol, readings, now: dt.datetime):
    if session.first_dose_at is None or not protocol.vitals_schedule.minutes:
        return None
    taken = [r.taken_at for r in readings if not r.pre_dose]
    due = vitals_due(protocol.vitals_schedule, session.first_dose_at, taken, now)
    return {"next_due_at": due.next_due_at, "overdue": due.overdue,
            "next_in_minutes": minutes(due.next_due_at - now) if due.next_due_at else None,
            "points": [session.first_dose_at + dt.timedelta(minutes=m) for m in protocol.vitals_schedule.minutes]}


def measures_table(session: DosingSession, protocol: Protocol) -> list[dict]:
    """Rapid-relief measures: each instrument the protocol asks for, before the dose and at each offset after."""
    measures = list(session.measures.select_related("response"))
    rows = []
    for key in dict.fromkeys(q.instrument for q in protocol.questionnaires):
        due = [q for q in protocol.questionnaires if q.instrument == key]
        pre = next((m.response for m in reversed(measures) if m.instrument_key == key and m.timing == "pre"), None)
        after = []
        for q in due:
            if q.pre_dose:
                continue
            response = next((m.response for m in reversed(measures) if m.instrument_key == key
                             and m.timing == "post" and m.offset_hours == q.offset_hours), None)
            change = (response.total - pre.total if response is not None and pre is not None
                      and response.total is not None and pre.total is not None else None)
            due_at = (session.first_dose_at + dt.timedelta(hours=q.offset_hours) if session.first_dose_at else None)
            after.append({"offset_hours": q.offset_hours, "response": response, "change": change, "due_at": due_at,
                          "by_patient": q.offset_hours >= 24})
        rows.append({"key": key, "pre_due": any(q.pre_dose for q in due), "pre": pre, "after": after})
    return rows


def refusal_lines(refusals, session: DosingSession, protocol: Protocol, now: dt.datetime) -> list[str]:
    """The domain's refusals in the words of the page: criteria by their labels, time left as h:mm and clock time."""
    lines = []
    for r in refusals:
        if r.code == "discharge.criteria_missing":
            missing = [c.DISCHARGE_CRITERIA_LABELS.get(k, k) for k in protocol.discharge_criteria
                       if k not in session.discharge_criteria]
            lines.append("discharge criteria not yet confirmed: " + "; ".join(missing))
        elif r.code == "discharge.observation_minimum" and session.first_dose_at is not None:
            obs = observation(session, protocol, now)
            lines.append(f"observation minimum of {protocol.observation_minimum_minutes} min from the first dose: "
                         f"{obs.remaining_text} left (not before {timezone.localtime(obs.ends_at):%H:%M})")
        else:
            lines.append(r.reason)
    return lines


def session_page(session: DosingSession, *, user, now: dt.datetime | None = None) -> dict:
    """Everything the session page shows."""
    now = now or clock.now()
    protocol = sel.session_protocol(session)
    readings = list(session.vitals.select_related("recorded_by").order_by("taken_at", "id"))
    facts = sel.session_facts(session, now=now)
    state = SessionState(session.state)
    predose_refusals = (transition_refusals(SessionState.PRE_DOSE, SessionState.DOSING, facts)
                        if state in (SessionState.CHECKED_IN, SessionState.PRE_DOSE) and protocol.involves_dose
                        else ())
    discharge_refusals: tuple[Refusal, ...] = ()
    if state in (SessionState.MONITORING, SessionState.OBSERVATION, SessionState.READY_FOR_DISCHARGE):
        discharge_refusals = transition_refusals(SessionState.READY_FOR_DISCHARGE, SessionState.DISCHARGED, facts)
    order = sel.current_order(session)
    administrations = list(session.administrations.select_related("given_by").order_by("given_at", "id"))
    devices = []
    if order is not None and order.device_count:
        rule = protocol.dose_rule
        gap = rule.minutes_between_devices if isinstance(rule, DeviceDoseRule) else 0
        given_at = [a.given_at for a in administrations if a.device_number]
        due = iter(devices_due(given_at, order.device_count, gap))
        for n in range(1, order.device_count + 1):
            given = next((a for a in administrations if a.device_number == n), None)
            expected = None if given is not None else next(due)
            previous = next((a for a in administrations if a.device_number == n - 1), None)
            devices.append({
                "number": n, "given": given, "expected_at": expected,
                "due_text": f"{gap} min after device {n - 1}" if n > 1 and expected else "",
                "is_next": given is None and (n == 1 or previous is not None),
                "early": expected is not None and now < expected,
                "after_previous": (minutes_text(given.given_at - previous.given_at) + f" after device {n - 1}")
                if given is not None and previous is not None else ""})
    alerts = links.session_alerts(session, open_only=False, reading_ids=[r.pk for r in readings])
    suicide = links.suicide_risk_blocks(session.patient)
    labels = dict(c.SideEffect.choices)
    blocking = {a.pk for a in suicide}
    return {
        "protocol": protocol, "facts": facts, "state": state,
        "observation": observation(session, protocol, now),
        "actions": actions(session, protocol).buttons() if not session.is_signed else [],
        "predose_refusals": refusal_lines(predose_refusals, session, protocol, now),
        "discharge_refusals": refusal_lines(discharge_refusals, session, protocol, now),
        "order": order, "orders": list(session.dose_orders.select_related("ordered_by")),
        "administrations": administrations, "devices": devices,
        "infusion_end": next((getattr(a, "end", None) for a in administrations if a.device_number is None), None),
        "vitals_rows": vitals_rows(session, protocol, readings),
        "schedule": vitals_schedule(session, protocol, readings, now),
        "alerts_open": [a for a in alerts if a.is_open and a.pk not in blocking],
        "alerts_closed": [a for a in alerts if not a.is_open],
        "suicide_blocks": suicide,
        "common_actions": COMMON_ACTIONS,
        "open_count": sum(a.is_open and a.pk not in blocking for a in alerts) + len(suicide),
        "measures": measures_table(session, protocol),
        "side_effect_checks": [{"row": row, "labels": [labels.get(e, e) for e in row.effects]}
                               for row in session.side_effect_checks.select_related("recorded_by")],
        "adverse_events": list(session.adverse_events.select_related("recorded_by")),
        "transitions": list(session.transitions.select_related("by")),
        "addenda": list(session.addenda.select_related("by")),
        "discharge_labels": [(k, c.DISCHARGE_CRITERIA_LABELS.get(k, k), k in session.discharge_criteria)
                             for k in protocol.discharge_criteria],
        "rems_form": getattr(session, "rems_form", None),
        "rems_enrolled": sel.rems_enrolled(session.patient),
        "now": now,
    }


def board(*, user, day: dt.date, now: dt.datetime | None = None) -> list[dict]:
    """One row per patient on the floor today: room, state, time since first dose, observation countdown, next
    vitals due, open alerts."""
    now = now or clock.now()
    sessions = sel.board_sessions(user=user, day=day)
    protocols: dict = {}
    from ketacare.safety.selectors import open_alerts_of_patients

    open_alerts = list(open_alerts_of_patients(clinic_id=user.clinic_id,
                                               patient_ids={s.patient_id for s in sessions}))
    rows = []
    flags = links.board_flags([s.pk for s in sessions])
    for s in sessions:
        key = (s.course.protocol_ref, s.protocol_setting_id, s.protocol_pinned)
        if key not in protocols:
            protocols[key] = sel.session_protocol(s)
        protocol = protocols[key]
        readings = list(s.vitals.all())
        reading_ids = {r.pk for r in readings}
        alerts = [a for a in open_alerts if a.patient_id == s.patient_id and (
            (a.source_type == links.SOURCE_VITALS and a.source_id in reading_ids)
            or (a.source_type == links.SOURCE_SESSION and a.source_id == s.pk)
            or a.source_type not in (links.SOURCE_VITALS, links.SOURCE_SESSION))]
        alerts.sort(key=lambda a: a.severity_rank)
        last = readings[-1] if readings else None
        rows.append({
            "session": s, "protocol": protocol, "state": SessionState(s.state),
            "protocol_label": short_title(protocol.title),
            "alerts_more": max(len(alerts) - 2, 0),
            "observation": observation(s, protocol, now),
            "since_first_dose": minutes(now - s.first_dose_at) if s.first_dose_at and not s.discharged_at else None,
            "schedule": vitals_schedule(s, protocol, readings, now) if s.state in (
                c.SessionState.DOSING, c.SessionState.MONITORING, c.SessionState.OBSERVATION,
                c.SessionState.READY_FOR_DISCHARGE) else None,
            "alerts": alerts, "last": last,
            "can_record_vitals": s.state in c.ACTIVE_STATES,
            "flags": flags.get(s.pk, []),
        })
    order = {c.SessionState.DOSING: 0, c.SessionState.MONITORING: 1, c.SessionState.OBSERVATION: 2,
             c.SessionState.READY_FOR_DISCHARGE: 3, c.SessionState.PRE_DOSE: 4, c.SessionState.CHECKED_IN: 5,
             c.SessionState.SCHEDULED: 6}
    rows.sort(key=lambda r: (not r["alerts"], order.get(r["session"].state, 9), r["session"].pk))
    return rows
