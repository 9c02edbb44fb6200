"""The chart panel "Treatment courses" and the banner for overdue REMS forms."""

from django.urls import reverse

from ketacare.accounts.roles import Perm
from ketacare.core import banners, clock
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.missed_sessions import (
    MissedSessionAdvice,
    PlannedSession,
    Score,
    missed_session_advice,
)
from ketacare.treatment.domain.protocols import DEFAULT_PROTOCOLS
from ketacare.treatment.models import DosingSession, PatientMonitoringForm


def missed_session_advice_for(*, user, course, today) -> MissedSessionAdvice | None:
    """esketamine-and-rems.md §3.3 for an active esketamine course: induction continues; missed maintenance
    sessions with a worsening PHQ-9 prompt the prescriber (treatment/domain/missed_sessions.py)."""
    protocol = DEFAULT_PROTOCOLS.get(course.protocol_ref)
    if course.status != c.CourseStatus.ACTIVE or course.route != c.Route.INTRANASAL or protocol is None:
        return None
    sessions = [PlannedSession(s.planned_on, s.phase, s.state) for s in course.sessions.all()]
    phq9 = [Score(on, total) for on, total in links.phq9_totals(user=user, patient=course.patient)]
    return missed_session_advice(sessions=sessions, phases=protocol.phases, phq9=phq9, today=today)


def panel_context(request, patient) -> dict:
    courses = list(sel.courses_for_patient(user=request.user, patient=patient))
    today = clock.today()
    todays = list(DosingSession.objects.filter(patient=patient, clinic_id=request.user.clinic_id, planned_on=today)
                  .exclude(state=c.SessionState.CANCELLED).select_related("course"))
    return {"courses": [{"course": course, "title": getattr(DEFAULT_PROTOCOLS.get(course.protocol_ref), "title",
                                                            course.protocol_ref),
                         "missed": missed_session_advice_for(user=request.user, course=course, today=today)}
                        for course in courses],
            "today_sessions": todays,
            "can_prescribe": request.user.has_perm_to(Perm.PRESCRIBE)}


def overdue_rems_banner(request) -> list[dict]:
    """Clinical staff see how many REMS Patient Monitoring Forms are past their 7-day deadline (one query)."""
    user = request.user
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return []
    overdue = banners.cached_count("treatment.overdue_rems", user.clinic_id, lambda: PatientMonitoringForm.objects
                                   .filter(clinic_id=user.clinic_id, submitted_at__isnull=True,
                                           due_on__lt=clock.today()).count())
    if not overdue:
        return []
    return [{"level": "warning", "count": overdue, "url": reverse("treatment:rems-board") + "?status=overdue",
             "text": f"{overdue} REMS Patient Monitoring Form{'s are' if overdue > 1 else ' is'} past the deadline."}]
