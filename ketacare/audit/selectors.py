import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditEvent


def audit_events_for(*, user, username: str = "", action: str = "", patient_id: int | None = None,
                     since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[AuditEvent]:
    """The audit trail of the auditor's own clinic, newest first, plus clinic-less events that concern no patient
    (sign-in attempts with an unknown username)."""
    if not user.has_perm_to(Perm.AUDIT_VIEW):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(Q(clinic_id=user.clinic_id) | Q(clinic__isnull=True, patient_id__isnull=True))
    if username:
        events = events.filter(actor_username__iexact=username)
    if action:
        events = events.filter(action=action)
    if patient_id:
        events = events.filter(patient_id=patient_id)
    tz = timezone.get_current_timezone()
    if since:
        events = events.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz))
    if until:
        events = events.filter(at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return events
