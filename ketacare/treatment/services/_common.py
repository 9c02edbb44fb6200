"""Errors, shared constants and helpers of the treatment services."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.accounts.access import require_same_clinic
from ketacare.core import plausible
from ketacare.core.errors import Conflict
from ketacare.treatment import choices as c
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.states import SessionState
from ketacare.treatment.models import (
    Course,
    DosingSession,
    SessionLocked,
)


class CourseNotCleared(Conflict):
    """The patient is not cleared for this route: a signed eligibility approval and a current consent are needed."""

    code = "course.not_cleared"


class DoseOverrideRequired(Conflict):
    """The dose is outside the protocol: a prescriber must give a reason to override."""

    code = "dose.override_required"


class SessionStateConflict(Conflict):
    """The session is not in a state where this can be recorded."""

    code = "session.wrong_state"


class DosingBlocked(Conflict):
    """No further dose while an emergency alert of the session or a suicide-risk block is open."""

    code = "dose.blocked"


class AlreadyCleared(Conflict):
    """This suicide-risk alert has already been cleared by a prescriber."""

    code = "suicide_risk.already_cleared"


class PmfIncomplete(Conflict):
    """The Patient Monitoring Form lacks required fields."""

    code = "rems.pmf_incomplete"


VITALS_STATES = frozenset({c.SessionState.CHECKED_IN, c.SessionState.PRE_DOSE, c.SessionState.DOSING,
                           c.SessionState.MONITORING, c.SessionState.OBSERVATION,
                           c.SessionState.READY_FOR_DISCHARGE})
MONITORED_STATES = frozenset({c.SessionState.DOSING, c.SessionState.MONITORING, c.SessionState.OBSERVATION,
                              c.SessionState.READY_FOR_DISCHARGE})
# Moving a dosing session into or through the dose needs the dose-administering clinicians (nurse, prescriber).
DOSE_STEP_TARGETS = frozenset({SessionState.DOSING, SessionState.MONITORING, SessionState.OBSERVATION,
                               SessionState.READY_FOR_DISCHARGE, SessionState.DISCHARGED})
FUTURE_TOLERANCE = plausible.CLOCK_TOLERANCE


def _same_clinic(actor, row) -> None:
    require_same_clinic(actor, row, sel.SessionNotFound)


def _lock(session: DosingSession) -> DosingSession:
    """The session row, locked until the transaction ends; refused when it is signed."""
    locked = DosingSession.objects.select_for_update().get(pk=session.pk)
    if locked.signed_at is not None:
        raise SessionLocked()
    # Related rows are read after the lock so that they are current.
    locked.course = Course.objects.get(pk=locked.course_id)
    locked.patient = session.patient
    return locked


def _not_future(name: str, value: dt.datetime, now: dt.datetime, born_on: dt.date | None = None) -> None:
    """The plausible window of a clinical moment (core/plausible.py): after the patient's birth, not in the future."""
    try:
        plausible.check_moment(value, now=now, born_on=born_on, tz=timezone.get_current_timezone())
    except plausible.Implausible as exc:
        raise ValidationError({name: str(exc)}) from None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value
