"""Writing outcomes: clinic overrides of outcome definitions, progress letters, the audit rows of views and exports,
and the materialized summaries behind the clinic report.

Keeping the summaries correct: every change to patient data goes through a service that writes an audit row with
the patient id in the same transaction (house rule). `summaries_refresh` recomputes the summaries of the patients
named by audit rows newer than the clinic's high-water mark (re-reading a margin of recent ids, so a transaction
that committed late is not missed), and rebuilds the whole clinic when the outcome definitions changed. Data loaded
outside the services (bulk imports) needs `ketacare outcomes_rebuild`; `ketacare synth` writes summaries itself.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.revisions import revise
from ketacare.outcomes import selectors
from ketacare.outcomes.domain.definitions import DEFAULT_DEFINITIONS, definition_for
from ketacare.outcomes.domain.summary import CourseSummary, summarize_course
from ketacare.outcomes.models import (
    CohortKey,
    EventKind,
    EventOutcome,
    InstrumentOutcome,
    LetterLocked,
    LetterStatus,
    OutcomeRefresh,
    OutcomeSetting,
    PatientOutcome,
    ProgressLetter,
)

# Audit actions that only read: they never make a summary stale.
READ_ACTIONS = frozenset({
    AuditAction.LOGIN_SUCCEEDED, AuditAction.LOGIN_FAILED, AuditAction.LOGIN_THROTTLED, AuditAction.LOGGED_OUT,
    AuditAction.PATIENT_VIEWED, AuditAction.PATIENTS_LISTED, AuditAction.AUDIT_VIEWED, AuditAction.AUDIT_EXPORTED,
    AuditAction.RESEARCH_VIEWED, AuditAction.ALERTS_LISTED, AuditAction.SESSION_VIEWED, AuditAction.PMF_EXPORTED,
    AuditAction.OUTCOMES_REPORT_VIEWED, AuditAction.OUTCOMES_EXPORTED, AuditAction.LETTER_DRAFTED,
    AuditAction.LETTER_EDITED, AuditAction.LETTER_SENT, AuditAction.ACCESS_DENIED,
})  # fmt: skip
# A transaction can commit after one with a higher audit id: each refresh also re-reads the audit rows written in the
# last LATE_COMMIT_WINDOW before the previous refresh (never more than LATE_COMMIT_MARGIN ids back).
LATE_COMMIT_MARGIN = 1000
LATE_COMMIT_WINDOW = dt.timedelta(minutes=2)
BATCH = 500


# --- outcome settings -------------------------------------------------------------------------------------------

SETTING_FIELDS = ("response_pct_reduction", "response_strict", "remission_max_total", "relapse_consecutive",
                  "baseline_window_days")


@transaction.atomic
def outcome_setting_save(*, actor, instrument_key: str, reason: str, **values: Any) -> OutcomeSetting:
    """Save a new revision of the clinic's override for one instrument (empty values keep the default)."""
    require(actor, Perm.CLINIC_CONFIGURE)
    if instrument_key not in DEFAULT_DEFINITIONS:
        raise ValidationError({"instrument_key": "No outcome definition exists for this instrument."})
    unknown = set(values) - set(SETTING_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    probe = OutcomeSetting(instrument_key=instrument_key, **values)
    probe.full_clean(exclude=["clinic", "revision", "reason", "created_by", "created_at"], validate_constraints=False)
    try:  # the domain re-validates the resulting definition (e.g. remission needed by the relapse rule)
        definition_for(instrument_key, {instrument_key: selectors.overrides_of(probe)})
    except ValueError as exc:
        raise ValidationError({"__all__": str(exc)}) from None
    setting = revise(OutcomeSetting, actor=actor, reason=reason, scope={"instrument_key": instrument_key},
                     reason_prompt="Say why the definition changes (it is kept with the revision).", **values)
    audit_record(actor=actor, action=AuditAction.OUTCOME_SETTING_CHANGED, target=setting,
                 data={"instrument": instrument_key, "revision": setting.revision,
                       "values": {k: str(v) for k, v in values.items() if v is not None}})
    return setting


# --- audit of views and exports -----------------------------------------------------------------------------------


@transaction.atomic
def report_viewed(*, actor, cohort: selectors.CohortFilter, deidentified: bool, via: str = "page") -> None:
    audit_record(actor=actor, action=AuditAction.OUTCOMES_REPORT_VIEWED,
                 data={"filters": cohort.as_dict(), "deidentified": deidentified, "via": via})


@transaction.atomic
def outcomes_exported(*, actor, what: str, fmt: str, cohort: selectors.CohortFilter | None = None,
                      deidentified: bool = False, patient=None, rows: int | None = None) -> None:
    """An export left the system: the clinic report (CSV/PDF) or one patient's outcomes PDF."""
    data: dict[str, Any] = {"what": what, "format": fmt, "deidentified": deidentified}
    if cohort is not None:
        data["filters"] = cohort.as_dict()
    if rows is not None:
        data["rows"] = rows
    audit_record(actor=actor, action=AuditAction.OUTCOMES_EXPORTED, target=patient,
                 patient_id=patient.pk if patient is not None else None, data=data)


# --- progress letters --------------------------------------------------------------------------------------------

LETTER_FIELDS = ("recipient_name", "recipient_organization", "recipient_address", "summary")


@transaction.atomic
def letter_draft(*, actor, patient, snapshot: dict, recipient: dict[str, str] | None = None,
                 summary: str = "") -> ProgressLetter:
    """Draft a progress letter from the chart: the figures are frozen in `snapshot`; the text is editable."""
    require(actor, Perm.PRESCRIBE)
    if patient.clinic_id != actor.clinic_id:
        raise selectors.LetterNotFound()
    now = clock.now()
    letter = ProgressLetter(clinic_id=actor.clinic_id, patient=patient, snapshot=snapshot, summary=summary,
                            created_by=actor, created_at=now, updated_by=actor, updated_at=now,
                            **{k: v for k, v in (recipient or {}).items() if k in LETTER_FIELDS})
    letter.full_clean()
    letter.save()
    audit_record(actor=actor, action=AuditAction.LETTER_DRAFTED, target=letter, patient_id=patient.pk)
    return letter


@transaction.atomic
def letter_update(*, actor, letter: ProgressLetter, **fields: Any) -> ProgressLetter:
    """Change the recipient or the summary of a draft; the audit row names the fields changed."""
    require(actor, Perm.PRESCRIBE)
    unknown = set(fields) - set(LETTER_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    current = ProgressLetter.objects.select_for_update().get(pk=letter.pk, clinic_id=actor.clinic_id)
    if current.is_sent:
        raise LetterLocked()
    changed = sorted(k for k, v in fields.items() if getattr(current, k) != (v.strip() if isinstance(v, str) else v))
    for name in changed:
        setattr(current, name, fields[name].strip() if isinstance(fields[name], str) else fields[name])
    if not changed:
        return current
    current.updated_by, current.updated_at = actor, clock.now()
    current.full_clean()
    current.save()
    audit_record(actor=actor, action=AuditAction.LETTER_EDITED, target=current, patient_id=current.patient_id,
                 data={"changed": changed})
    return current


@transaction.atomic
def letter_send(*, actor, letter: ProgressLetter, sent_via: str) -> ProgressLetter:
    """A prescriber confirms the reviewed letter was sent: it is locked from now on."""
    require(actor, Perm.PRESCRIBE)
    current = ProgressLetter.objects.select_for_update().get(pk=letter.pk, clinic_id=actor.clinic_id)
    if current.is_sent:
        raise LetterLocked()
    errors = {}
    if not sent_via.strip():
        errors["sent_via"] = "Say how the letter was sent (fax, secure e-mail, post)."
    if not current.summary.strip():
        errors["summary"] = "Write the summary before sending."
    if not current.recipient_name.strip():
        errors["recipient_name"] = "Name the referring clinician."
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    current.status, current.sent_by, current.sent_at, current.sent_via = LetterStatus.SENT, actor, now, sent_via.strip()
    current.updated_by, current.updated_at = actor, now
    current.full_clean()
    current.save()  # the last change: from now on the letter is frozen (AppendOnlyModel, frozen by sent_at)
    audit_record(actor=actor, action=AuditAction.LETTER_SENT, target=current, patient_id=current.patient_id,
                 data={"via": current.sent_via})
    return current


# --- the materialized summaries ---------------------------------------------------------------------------------


def cohort_key_id(index: selectors.IndexCourse, cache: dict) -> int:
    """The id of the index course's cohort key (created on first use; `cache` saves the look-up)."""
    key = (index.clinic_id, index.route, index.protocol_ref, index.diagnoses)
    if key not in cache:
        cache[key] = CohortKey.objects.get_or_create(clinic_id=index.clinic_id, route=index.route,
                                                     protocol_ref=index.protocol_ref, diagnoses=index.diagnoses)[0].pk
    return cache[key]


def _float(value) -> float | None:
    return None if value is None else float(value)


def summary_rows(index: selectors.IndexCourse, summary: CourseSummary, *, now: dt.datetime, key_cache: dict
                 ) -> tuple[PatientOutcome, list[InstrumentOutcome], list[EventOutcome]]:
    """The rows of one patient's summary (unsaved); `ketacare synth` writes the same rows in bulk."""
    cohort = {"clinic_id": index.clinic_id, "cohort_key_id": cohort_key_id(index, key_cache),
              "first_dose_on": clock_local_date(summary.first_dose_at) if summary.first_dose_at else None}
    outcome = PatientOutcome(
        route=index.route, protocol_ref=index.protocol_ref, diagnoses=index.diagnoses,
        patient_id=index.patient_id, course_id=index.course_id, first_dose_at=summary.first_dose_at,
        last_dose_at=summary.last_dose_at, doses=summary.doses, induction_doses=summary.induction_doses,
        induction_completed=summary.induction_completed, closed=summary.closed,
        sessions_with_side_effects=summary.sessions_with_side_effects, computed_at=now, **cohort)
    instruments = [
        InstrumentOutcome(
            outcome=outcome, instrument_key=i.instrument_key, baseline=_float(i.baseline),
            baseline_band=i.baseline_band, endpoint=_float(i.endpoint), change=_float(i.change), response=i.response,
            remission=i.remission, ttr_days=i.ttr_days,
            ttr_event=i.ttr_event, relapse_status=i.relapse_status or "", relapse_days=i.relapse_days,
            relapse_event=i.relapse_event, **cohort)
        for i in summary.instruments
    ]
    events: list[EventOutcome] = []
    grouped: dict[tuple[str, str], list[int | None]] = {}
    for e in summary.side_effects:
        grouped.setdefault((EventKind.SIDE_EFFECT, e.kind), []).append(e.minutes)
    for ae in summary.adverse_events:
        grouped.setdefault((EventKind.ADVERSE_EVENT, "any"), []).append(ae.minutes)
        if ae.serious:
            grouped.setdefault((EventKind.ADVERSE_EVENT, "serious"), []).append(ae.minutes)
    for (kind, code), all_minutes in grouped.items():
        timed = [m for m in all_minutes if m is not None]
        events.append(EventOutcome(outcome=outcome, kind=kind, code=code, episodes=len(all_minutes), timed=len(timed),
                                   minutes_sum=sum(timed), minutes_sumsq=sum(m * m for m in timed), **cohort))
    seen: set[str] = set()
    for a in summary.alerts:  # `episodes` is 1 on the patient's first alert of a severity: SUM gives patients
        minutes = a.minutes_to_acknowledge
        events.append(EventOutcome(outcome=outcome, kind=EventKind.ALERT, code=a.severity,
                                   episodes=0 if a.severity in seen else 1, timed=0 if minutes is None else 1,
                                   minutes=minutes, **cohort))
        seen.add(a.severity)
    return outcome, instruments, events


def clock_local_date(moment: dt.datetime) -> dt.date:
    from django.utils import timezone

    return timezone.localtime(moment).date()


@transaction.atomic
def summaries_rebuild(*, clinic_id: int, patient_ids: Iterable[int] | None = None,
                      definitions=None, now: dt.datetime | None = None) -> int:
    """Recompute the summaries of these patients (all of the clinic's when None); returns the rows written."""
    from ketacare.patients.models import Patient

    now = now or clock.now()
    definitions = definitions or selectors.definitions_for_clinic(clinic_id)
    if patient_ids is None:
        ids = list(Patient.objects.filter(clinic_id=clinic_id).values_list("id", flat=True))
    else:
        ids = list(Patient.objects.filter(clinic_id=clinic_id, id__in=list(patient_ids)).values_list("id", flat=True))
    written = 0
    key_cache: dict = {}
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        PatientOutcome.objects.filter(patient_id__in=batch).delete()  # cascades to instrument and event rows
        outcomes, instruments, events = [], [], []
        for index in selectors.index_courses(batch, definitions):
            outcome, inst, ev = summary_rows(index, summarize_course(index.facts, definitions), now=now,
                                             key_cache=key_cache)
            outcomes.append(outcome)
            instruments.extend(inst)
            events.extend(ev)
        PatientOutcome.objects.bulk_create(outcomes)
        for row in instruments:
            row.outcome_id = row.outcome.pk
        for event in events:
            event.outcome_id = event.outcome.pk
        InstrumentOutcome.objects.bulk_create(instruments)
        EventOutcome.objects.bulk_create(events)
        written += len(outcomes)
    return written


def _audit_mark() -> int:
    return AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0


def stale_patients(clinic_id: int, since_audit_id: int, *, recheck_from: dt.datetime | None = None) -> list[int]:
    """Patients of the clinic named by a writing audit row after `since_audit_id`, or by one of the last
    LATE_COMMIT_MARGIN rows before it that was written after `recheck_from`."""
    from ketacare.patients.models import Patient

    newer = Q(id__gt=since_audit_id)
    if recheck_from is not None:
        newer |= Q(id__gt=max(0, since_audit_id - LATE_COMMIT_MARGIN), at__gte=recheck_from)
    touched = {pid for pid in AuditEvent.objects.filter(newer, patient_id__isnull=False)
               .exclude(action__in=READ_ACTIONS).values_list("patient_id", flat=True).distinct() if pid is not None}
    if not touched:
        return []
    return list(Patient.objects.filter(clinic_id=clinic_id, id__in=touched).values_list("id", flat=True))


def summaries_refresh(*, clinic_id: int, now: dt.datetime | None = None) -> int:
    """Bring the clinic's summaries up to date before a report; returns how many patients were recomputed."""
    now = now or clock.now()
    definitions = selectors.definitions_for_clinic(clinic_id)
    key = selectors.definitions_key(definitions)
    with transaction.atomic():
        state = OutcomeRefresh.objects.select_for_update().filter(clinic_id=clinic_id).first()
        mark = _audit_mark()
        if state is None or state.definitions_key != key:
            recomputed = summaries_rebuild(clinic_id=clinic_id, definitions=definitions, now=now)
        else:
            patients = stale_patients(clinic_id, int(state.marks.get("audit", 0)),
                                      recheck_from=state.refreshed_at - LATE_COMMIT_WINDOW)
            recomputed = summaries_rebuild(clinic_id=clinic_id, patient_ids=patients, definitions=definitions,
                                           now=now) if patients else 0
        OutcomeRefresh.objects.update_or_create(
            clinic_id=clinic_id, defaults={"marks": {"audit": mark}, "definitions_key": key, "refreshed_at": now})
    return recomputed


def mark_current(*, clinic_ids: Sequence[int], now: dt.datetime | None = None) -> None:
    """Record that these clinics' summaries are current as of now (after a bulk load wrote them)."""
    now = now or clock.now()
    mark = _audit_mark()
    for clinic_id in clinic_ids:
        key = selectors.definitions_key(selectors.definitions_for_clinic(clinic_id))
        OutcomeRefresh.objects.update_or_create(
            clinic_id=clinic_id, defaults={"marks": {"audit": mark}, "definitions_key": key, "refreshed_at": now})
