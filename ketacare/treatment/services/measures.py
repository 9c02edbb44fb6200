"""Questionnaires in the session and the suicide-risk block."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.models import (
    DosingSession,
    SessionMeasure,
    SuicideRiskClearance,
)
from ketacare.treatment.services._common import (
    AlreadyCleared,
    SessionStateConflict,
    _aware,
    _lock,
    _same_clinic,
)


@transaction.atomic
def session_measure_record(*, actor, session: DosingSession, instrument_key: str, answers: Any,
                           answered_at: dt.datetime, mode: str, offset_hours: int | None = None) -> SessionMeasure:
    """Record a questionnaire for this session (before the dose, or at `offset_hours` after it) and link it.
    Safety rules of the instrument raise their alerts (e.g. a high C-SSRS screen blocks dosing)."""
    from ketacare.instruments.services import response_record

    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state in (c.SessionState.SCHEDULED, c.SessionState.CANCELLED):
        raise SessionStateConflict("Check the patient in first.")
    if s.first_dose_at is None:
        timing, offset = c.MeasureTiming.PRE, 0
    else:
        timing, offset = c.MeasureTiming.POST, offset_hours if offset_hours is not None else 0
        if offset < 0:
            raise ValidationError({"offset_hours": "After the dose the offset is 0 hours or more."})
    baseline_measure = (s.measures.filter(instrument_key=instrument_key, timing=c.MeasureTiming.PRE)
                        .select_related("response").last()) if timing == c.MeasureTiming.POST else None
    response = response_record(patient=s.patient, actor=actor, instrument_key=instrument_key, answers=answers,
                               answered_at=_aware(answered_at) or clock.now(), mode=mode,
                               context=f"session:{s.pk}",
                               baseline=baseline_measure.response if baseline_measure else None)
    measure = SessionMeasure(clinic_id=s.clinic_id, session=s, response=response, instrument_key=instrument_key,
                             timing=timing, offset_hours=offset, linked_by=actor, linked_at=clock.now())
    measure.save()
    audit_record(actor=actor, action=AuditAction.SESSION_MEASURE_LINKED, target=measure, patient_id=s.patient_id,
                 data={"instrument": instrument_key, "timing": timing, "offset_hours": offset})
    return measure


@transaction.atomic
def session_alert_acknowledge(*, actor, session: DosingSession, alert_id: int, action: str):
    """Acknowledge one of the session's (or its patient's) alerts with the action taken. A suicide-risk alert that
    someone other than a prescriber acknowledged is cleared for dosing by a prescriber here; a prescriber who
    acknowledges one clears it in the same step (the clearance row records that a prescriber did it, so later role
    changes do not alter whether it blocks)."""
    _same_clinic(actor, session)
    alert = links.alert_get(session=session, alert_id=alert_id)
    if alert is None:
        raise sel.SessionNotFound("Alert not found.")
    if alert.status != "open" and alert in links.suicide_risk_blocks(session.patient):
        return suicide_risk_clear(actor=actor, session=session, alert=alert, note=action)
    if links.is_suicide_risk(alert) and actor.has_perm_to(Perm.PRESCRIBE):
        acknowledged = links.acknowledge_alert(alert=alert, actor=actor, action=action)
        suicide_risk_clear(actor=actor, session=session, alert=acknowledged, note=action)
        return acknowledged
    return links.acknowledge_alert(alert=alert, actor=actor, action=action)


@transaction.atomic
def suicide_risk_clear(*, actor, session: DosingSession, alert, note: str) -> SuicideRiskClearance:
    """A prescriber clears an acknowledged suicide-risk alert of the session's patient for dosing (once)."""
    require(actor, Perm.PRESCRIBE)
    _same_clinic(actor, session)
    s = _lock(session)
    if not links.is_suicide_risk(alert) or alert.patient_id != s.patient_id or alert.clinic_id != s.clinic_id:
        raise ValidationError({"alert_id": "Not a suicide-risk alert of this patient."})
    if alert.status == "open":
        raise SessionStateConflict("Acknowledge the alert with the action taken first.")
    if SuicideRiskClearance.objects.filter(alert_id=alert.pk).exists():
        raise AlreadyCleared("This alert has already been cleared by a prescriber.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"action": "Describe the assessment done and its outcome."})
    session = s
    row = SuicideRiskClearance(clinic_id=session.clinic_id, alert=alert, session=session, cleared_by=actor,
                               cleared_at=clock.now(), note=note)
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.SUICIDE_RISK_CLEARED, target=row, patient_id=session.patient_id,
                 data={"alert": alert.pk, "code": alert.code})
    return row
