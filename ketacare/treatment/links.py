"""What the treatment app needs from the screening and safety apps, through their selectors and services only.

- Screening: `route_clearance` (signed eligibility approval and current consent for the route).
- Safety: alerts raised from session vitals and overdue readings, and the suicide-risk block on dosing
  (docs/domain/README.md rule 7: a high suicide-risk result blocks dosing until a prescriber clears it).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from ketacare.safety.domain.rules import SUICIDE_RISK_CODES
from ketacare.treatment.domain.protocols import Route
from ketacare.treatment.domain.vitals import Severity

# Where a session's alerts come from (safety.Alert.source_type / source_id).
SOURCE_VITALS = "vitals"  # source_id = VitalsReading.pk
SOURCE_SESSION = "session"  # source_id = DosingSession.pk (overdue vitals, escalation)
SOURCE_ADVERSE_EVENT = "adverse_event"  # source_id = AdverseEvent.pk (serious or severe events)
SOURCE_QUESTIONNAIRE = "questionnaire_response"  # the instruments app's alerts on a session's questionnaires

# Domain severity -> safety severity. A critical vital sign is an emergency; a warning needs a clinician now (the
# "high" band is shown on every staff page until acknowledged); a missed reading is moderate.
ALERT_SEVERITY = {Severity.CRITICAL: "emergency", Severity.WARNING: "high", Severity.INFO: "low"}
OVERDUE_SEVERITY = "moderate"
CRITICAL_SEVERITIES = frozenset({"emergency"})

# The screening app's names for the drug routes.
CLEARANCE_ROUTE = {Route.INTRAVENOUS: "iv-ketamine", Route.INTRANASAL: "esketamine"}


@dataclass(frozen=True)
class RouteClearance:
    ok: bool
    reasons: tuple[str, ...] = ()
    snapshot: dict = field(default_factory=dict)


def route_clearance_for(*, patient, route: str, on: dt.date) -> RouteClearance:
    """Whether the patient may start or continue treatment by `route` on `on`, with the reasons when not."""
    if Route(route) is Route.NONE:
        return RouteClearance(ok=True)
    from ketacare.screening.selectors import route_clearance

    result = route_clearance(patient=patient, route=CLEARANCE_ROUTE[Route(route)], on=on)
    decision, consent = getattr(result, "decision", None), getattr(result, "consent", None)
    snapshot = {"checked_on": on.isoformat(), "ok": bool(result.ok), "reasons": list(result.reasons),
                "decision_id": getattr(decision, "pk", None), "consent_id": getattr(consent, "pk", None)}
    return RouteClearance(ok=bool(result.ok), reasons=tuple(result.reasons), snapshot=snapshot)


# Protocols given for a labeled indication with requirements of its own (screening/domain/indications.py).
INDICATION_OF_PROTOCOL = {"esketamine-mdsi": "mdsi"}


def indication_problems_for(*, patient, protocol_key: str) -> tuple[str, ...]:
    """What the patient's intake lacks for the protocol's indication (esketamine-and-rems.md §2, §3.2)."""
    indication = INDICATION_OF_PROTOCOL.get(protocol_key)
    if indication is None:
        return ()
    from ketacare.screening.selectors import indication_problems_for as screening_indication_problems

    return screening_indication_problems(patient=patient, indication=indication)


def phq9_totals(*, user, patient) -> list[tuple[dt.date, Decimal]]:
    """The patient's current (not amended) PHQ-9 totals as (local date, total), for the missed-session advice."""
    from ketacare.core import clock
    from ketacare.instruments.selectors import responses_for

    return [(clock.local_date(r.answered_at), r.total)
            for r in responses_for(user=user, patient=patient, instrument_key="phq-9").current()
            if r.total is not None]


def raise_alert(*, patient, code: str, severity: str, message: str, source_type: str, source_id: int, actor=None):
    from ketacare.safety.services import alert_raise

    return alert_raise(patient=patient, code=code, severity=severity, message=message, source_type=source_type,
                       source_id=source_id, actor=actor)


def raise_alert_event(*, patient, findings, source_type: str, source_id: int, group_key: str, observed_at,
                      actor=None):
    """One alert for the findings of one observation [(code, severity, message, value)]; it joins the open alert
    of the same `group_key` (e.g. this session's vitals) instead of adding another. None when nothing fired."""
    from ketacare.safety.domain.grouping import Part
    from ketacare.safety.services import alert_raise_event

    return alert_raise_event(patient=patient, parts=[Part(*f) for f in findings], source_type=source_type,
                             source_id=source_id, group_key=group_key, observed_at=observed_at, actor=actor)


def vitals_group(session_id: int) -> str:
    """A session's out-of-range readings share one open alert."""
    return f"vitals:session:{session_id}"


def overdue_group(session_id: int) -> str:
    """A session's missed readings share one open alert (apart from the out-of-range ones)."""
    return f"overdue:session:{session_id}"


def acknowledge_alert(*, alert, actor, action: str):
    from ketacare.safety.services import alert_acknowledge

    return alert_acknowledge(alert=alert, actor=actor, action=action)


def session_alerts(session, *, open_only: bool = True, reading_ids=None) -> list:
    """Alerts raised from this session: its readings, the session itself, its adverse events and the
    questionnaires taken for it. Open first, then newest."""
    from ketacare.safety.selectors import alerts_from_sources
    from ketacare.treatment.models import AdverseEvent, SessionMeasure

    if reading_ids is None:
        reading_ids = list(session.vitals.values_list("pk", flat=True))
    alerts = alerts_from_sources(clinic_id=session.clinic_id, patient_id=session.patient_id, open_only=open_only,
                                 sources={
                                     SOURCE_VITALS: reading_ids,
                                     SOURCE_SESSION: [session.pk],
                                     SOURCE_ADVERSE_EVENT: AdverseEvent.objects.filter(session=session).values("pk"),
                                     SOURCE_QUESTIONNAIRE: SessionMeasure.objects.filter(session=session)
                                     .values("response_id"),
                                 })
    return sorted(alerts, key=lambda a: (not a.is_open, -a.raised_at.timestamp(), -a.pk))


def is_suicide_risk(alert) -> bool:
    return alert.code in SUICIDE_RISK_CODES


def suicide_risk_blocks(patient) -> list:
    """Suicide-risk alerts that still block dosing: open ones, and acknowledged ones without a prescriber's
    clearance (SuicideRiskClearance, written only by a prescriber, also when a prescriber acknowledges the alert
    from the session). The acknowledger's role today does not count: roles change, the clearance row does not."""
    from ketacare.safety.selectors import alerts_with_codes
    from ketacare.treatment.models import SuicideRiskClearance

    alerts = list(alerts_with_codes(patient=patient, codes=SUICIDE_RISK_CODES))
    cleared = set(SuicideRiskClearance.objects.filter(alert__in=alerts).values_list("alert_id", flat=True))
    return [a for a in alerts if a.is_open or a.pk not in cleared]


def alert_get(*, session, alert_id: int):
    """One alert of this session's patient (suicide-risk alerts included); None when not found."""
    from ketacare.safety.selectors import patient_alert

    return patient_alert(clinic_id=session.clinic_id, patient_id=session.patient_id, alert_id=alert_id)


# Hooks for apps above treatment (the controlled-substance ledger registers from its AppConfig.ready()), so that
# treatment never imports them: what keeps a session from being discharged or its note signed, what the floor
# board flags, and what the session page shows for the controlled-substance steps.
_CLOSE_GUARDS: list[Callable] = []
_BOARD_FLAGS: list[Callable] = []
_SESSION_PANELS: list[Callable] = []


def register_close_guard(guard: Callable) -> None:
    """`guard(session) -> list[str]`: reasons the session may not be discharged nor its note signed."""
    if guard not in _CLOSE_GUARDS:
        _CLOSE_GUARDS.append(guard)


def close_refusals(session) -> list[str]:
    return [reason for guard in _CLOSE_GUARDS for reason in guard(session)]


def register_board_flags(flags: Callable) -> None:
    """`flags(session_ids) -> {session_id: [short text]}` shown on the floor board's rows."""
    if flags not in _BOARD_FLAGS:
        _BOARD_FLAGS.append(flags)


def board_flags(session_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for flags in _BOARD_FLAGS:
        for session_id, texts in flags(session_ids).items():
            out.setdefault(session_id, []).extend(texts)
    return out


def register_session_panel(panel: Callable) -> None:
    """`panel(request, session) -> html or ""`: a section of the session page rendered by another app."""
    if panel not in _SESSION_PANELS:
        _SESSION_PANELS.append(panel)


def session_panels(request, session) -> list[str]:
    return [html for panel in _SESSION_PANELS if (html := panel(request, session))]


_LOT_SUGGESTIONS: list[Callable] = []


def register_lot_suggestion(suggest: Callable) -> None:
    """`suggest(session) -> str`: the lot number to offer for the next administration (e.g. the lot drawn)."""
    if suggest not in _LOT_SUGGESTIONS:
        _LOT_SUGGESTIONS.append(suggest)


def suggested_lot_number(session) -> str:
    return next((lot for suggest in _LOT_SUGGESTIONS if (lot := suggest(session))), "")


# Apps told when a patient's sessions change (a course planned, a session moved, cancelled or dosed), e.g. the
# portal re-anchoring its self-report schedule. A listener runs inside the change's transaction, in a savepoint; its
# failure is logged and never refuses the clinical write (the portal also re-syncs periodically).
_SESSIONS_CHANGED: list = []


def register_sessions_changed(listener) -> None:
    """`listener(patient_id=..., clinic_id=...)` is called after every change to that patient's sessions."""
    if listener not in _SESSIONS_CHANGED:
        _SESSIONS_CHANGED.append(listener)


def sessions_changed(*, patient_id: int, clinic_id: int) -> None:
    import logging

    from django.db import transaction

    for listener in list(_SESSIONS_CHANGED):
        try:
            with transaction.atomic():
                listener(patient_id=patient_id, clinic_id=clinic_id)
        except Exception:  # noqa: BLE001 - a listener never blocks a clinical write
            logging.getLogger(__name__).exception("a sessions-changed listener failed")
