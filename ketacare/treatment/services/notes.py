"""Discharge, the session note and its signature, addenda, REMS forms, session views."""


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
from ketacare.treatment.domain.rems import pmf_from_snapshot
from ketacare.treatment.models import (
    DosingSession,
    PatientMonitoringForm,
    SessionAddendum,
)
from ketacare.treatment.rems import jsonable, session_snapshot
from ketacare.treatment.services._common import PmfIncomplete, SessionStateConflict, _lock, _same_clinic


@transaction.atomic
def discharge_criteria_record(*, actor, session: DosingSession, criteria: list[str],
                              ready_to_leave_minutes: int | None = None) -> DosingSession:
    """Which of the protocol's discharge criteria a clinician confirms now (all are needed to discharge)."""
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    allowed_states = {c.SessionState.OBSERVATION, c.SessionState.READY_FOR_DISCHARGE}
    if s.course.route == c.Route.NONE:
        allowed_states.add(c.SessionState.CHECKED_IN)
    if s.state not in allowed_states:
        raise SessionStateConflict("Discharge criteria are confirmed during observation, before discharge.")
    protocol = sel.session_protocol(s)
    unknown = sorted(set(criteria) - set(protocol.discharge_criteria))
    if unknown:
        raise ValidationError({"criteria": f"Not criteria of this protocol: {', '.join(unknown)}."})
    s.discharge_criteria = [k for k in protocol.discharge_criteria if k in set(criteria)]
    s.ready_to_leave_minutes = ready_to_leave_minutes
    s.discharge_recorded_by, s.discharge_recorded_at = actor, clock.now()
    s.full_clean(validate_constraints=False)
    s.save()
    audit_record(actor=actor, action=AuditAction.DISCHARGE_CRITERIA_RECORDED, target=s, patient_id=s.patient_id,
                 data={"criteria": s.discharge_criteria, "ready_to_leave_minutes": ready_to_leave_minutes})
    return s


@transaction.atomic
def session_note_save(*, actor, session: DosingSession, text: str) -> DosingSession:
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    s.note = (text or "").strip()
    s.full_clean(validate_constraints=False)
    s.save(update_fields=["note"])
    audit_record(actor=actor, action=AuditAction.SESSION_NOTE_SAVED, target=s, patient_id=s.patient_id,
                 data={"length": len(s.note)})
    return s


@transaction.atomic
def session_sign(*, actor, session: DosingSession, text: str | None = None) -> DosingSession:
    """Sign the session note once the session has ended; from then on nothing of the session changes."""
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state not in c.FINAL_STATES:
        raise SessionStateConflict("The note is signed after the session has ended (discharged, held, escalated "
                                   "or cancelled).")
    if text is not None:
        s.note = text.strip()
    if not s.note:
        raise ValidationError({"note": "Write the session note before signing it."})
    if refusals := links.close_refusals(s):
        raise SessionStateConflict(" ".join(refusals))
    s.signed_at, s.signed_by = clock.now(), actor
    s.full_clean(validate_constraints=False)
    s.save()
    audit_record(actor=actor, action=AuditAction.SESSION_SIGNED, target=s, patient_id=s.patient_id,
                 data={"length": len(s.note)})
    return s


@transaction.atomic
def session_addendum_add(*, actor, session: DosingSession, text: str) -> SessionAddendum:
    """A correction or late entry for a signed session; the signed note is kept as it was."""
    require(actor, Perm.CLINICAL_RECORD)
    _same_clinic(actor, session)
    s = DosingSession.objects.select_for_update().get(pk=session.pk)
    if s.signed_at is None:
        raise SessionStateConflict("The session is not signed yet: edit the note itself.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the addendum."})
    row = SessionAddendum(clinic_id=s.clinic_id, session=s, text=text, by=actor, at=clock.now())
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.SESSION_ADDENDUM_ADDED, target=row, patient_id=s.patient_id,
                 data={"length": len(text)})
    return row


@transaction.atomic
def pmf_submit(*, actor, form: PatientMonitoringForm, reference: str = "") -> PatientMonitoringForm:
    """Mark the form submitted to the REMS (online or by fax); its fields are frozen as submitted."""
    require(actor, Perm.CLINICAL_RECORD)
    if actor.clinic_id != form.clinic_id:
        raise sel.RemsFormNotFound()
    form = PatientMonitoringForm.objects.select_for_update().select_related("session").get(pk=form.pk)
    if form.submitted_at is not None:
        raise SessionStateConflict("This form was already submitted.")
    settings, _ = sel.rems_settings(form.clinic_id)
    draft = pmf_from_snapshot(session_snapshot(form.session), settings)
    if not draft.complete:
        raise PmfIncomplete("Missing: " + ", ".join(draft.missing + draft.problems), missing=list(draft.missing),
                            problems=list(draft.problems))
    form.data = {"fields": {k: jsonable(v) for k, v in draft.fields.items()}, "missing": [], "problems": []}
    form.submitted_at, form.submitted_by = clock.now(), actor
    form.submission_reference = (reference or "").strip()[:60]
    form.save()
    audit_record(actor=actor, action=AuditAction.PMF_SUBMITTED, target=form, patient_id=form.session.patient_id,
                 data={"due_on": form.due_on.isoformat()})
    return form


@transaction.atomic
def pmf_exported(*, actor, form: PatientMonitoringForm) -> None:
    audit_record(actor=actor, action=AuditAction.PMF_EXPORTED, target=form, patient_id=form.session.patient_id,
                 data={"format": "pdf"})


@transaction.atomic
def session_viewed(*, actor, session: DosingSession, via: str) -> None:
    audit_record(actor=actor, action=AuditAction.SESSION_VIEWED, target=session, patient_id=session.patient_id,
                 data={"via": via})
