import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction, AuditEvent

SIGN_IN_FAILURES = (AuditAction.LOGIN_FAILED, AuditAction.LOGIN_THROTTLED)


def audit_events_for(*, user, username: str = "", action: str = "", patient_id: int | None = None,
                     since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[AuditEvent]:
    """The audit trail of the auditor's own clinic, newest first, plus clinic-less events that concern no patient
    (system jobs), but not sign-in failures for names that match no account: those belong to no clinic and are kept
    only as a keyed digest (accounts/usernames.py), for the network's operators (`ketacare audit` commands)."""
    if not user.has_perm_to(Perm.AUDIT_VIEW):
        return AuditEvent.objects.none()
    clinic_less = Q(clinic__isnull=True, patient_id__isnull=True) & ~Q(action__in=SIGN_IN_FAILURES)
    events = AuditEvent.objects.filter(Q(clinic_id=user.clinic_id) | clinic_less)
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
