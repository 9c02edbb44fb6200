"""Who may reach each treatment page and API route (written out independently of ketacare.accounts.roles)."""

from ketacare.accounts.roles import Role
from tests.roles import CLINICAL, RECORDERS

PRESCRIBERS = frozenset({Role.PRESCRIBER})
ADMINISTER = frozenset({Role.PRESCRIBER, Role.NURSE})
ACKNOWLEDGE = frozenset({Role.PRESCRIBER, Role.NURSE})
ADMINS = frozenset({Role.CLINIC_ADMIN})

PAGES = {
    "treatment:board": ("get", CLINICAL),
    "treatment:board-vitals": ("get", RECORDERS),
    "treatment:course-create": ("get", PRESCRIBERS),
    "treatment:course-detail": ("get", CLINICAL),
    "treatment:course-reschedule": ("post", RECORDERS),
    "treatment:course-end": ("post", PRESCRIBERS),
    "treatment:session-detail": ("get", CLINICAL),
    "treatment:session-transition": ("post", RECORDERS),
    "treatment:session-predose": ("post", RECORDERS),
    "treatment:dose-order": ("post", PRESCRIBERS),
    "treatment:dose-administer": ("post", ADMINISTER),
    "treatment:infusion-end": ("post", ADMINISTER),
    "treatment:vitals-create": ("post", RECORDERS),
    "treatment:side-effects-create": ("post", RECORDERS),
    "treatment:adverse-event-create": ("post", RECORDERS),
    "treatment:adverse-event-resolve": ("post", RECORDERS),
    "treatment:discharge-criteria": ("post", RECORDERS),
    "treatment:session-note": ("post", RECORDERS),
    "treatment:addendum-create": ("post", RECORDERS),
    "treatment:alert-acknowledge": ("post", ACKNOWLEDGE),
    "treatment:rems-enrollment": ("post", RECORDERS),
    "treatment:session-measure": ("get", RECORDERS),
    "treatment:rems-board": ("get", CLINICAL),
    "treatment:rems-form": ("get", CLINICAL),
    "treatment:rems-form-pdf": ("get", CLINICAL),
    "treatment:rems-form-submit": ("post", RECORDERS),
    "treatment:rems-settings": ("get", ADMINS),
    "treatment:protocols": ("get", ADMINS),
    "treatment:protocol-edit": ("get", ADMINS),
}

API = {
    ("get", "/api/v1/patients/{patient_id}/courses"): CLINICAL,
    ("post", "/api/v1/patients/{patient_id}/courses"): PRESCRIBERS,
    ("get", "/api/v1/courses/{course_id}"): CLINICAL,
    ("get", "/api/v1/sessions/{session_id}"): CLINICAL,
    ("post", "/api/v1/sessions/{session_id}/transition"): RECORDERS,
    ("post", "/api/v1/sessions/{session_id}/vitals"): RECORDERS,
    ("post", "/api/v1/sessions/{session_id}/dose-order"): PRESCRIBERS,
    ("post", "/api/v1/sessions/{session_id}/administrations"): ADMINISTER,
}


def make_objects(clinic, patient, users) -> dict[str, int]:
    """One course with a session checked in today, an adverse event and a REMS form, in `clinic`."""
    from django.utils import timezone

    from ketacare.treatment.models import AdverseEvent, PatientMonitoringForm
    from ketacare.treatment.tests.factories import CourseFactory, SessionFactory

    course = CourseFactory(patient=patient, created_by=users[Role.PRESCRIBER])
    session = SessionFactory(course=course, state="checked_in", checked_in_at=timezone.now())
    event = AdverseEvent.objects.create(clinic=clinic, session=session, description="nausea", severity="mild",
                                        onset_at=timezone.now(), recorded_by=users[Role.NURSE],
                                        recorded_at=timezone.now())
    form = PatientMonitoringForm.objects.create(clinic=clinic, session=session, session_on=session.planned_on,
                                                due_on=session.planned_on, template_version="2021-11",
                                                created_at=timezone.now())
    return {"course_id": course.pk, "session_id": session.pk, "event_id": event.pk, "form_id": form.pk}
