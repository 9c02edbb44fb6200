"""Reading alerts: always scoped to the asking user's clinic, or to a patient the caller already holds."""

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from ketacare.accounts.roles import Perm
from ketacare.core.errors import NotFound
from ketacare.safety.choices import AlertSeverity, AlertStatus
from ketacare.safety.domain import oncall
from ketacare.safety.domain.rules import BANNER_SEVERITIES, SUICIDE_RISK_CODES
from ketacare.safety.models import Alert, OnCallSetting, OnCallShift, StaffContact


class AlertNotFound(NotFound):
    """Alert not found."""

    code = "alert_not_found"


def _by_urgency(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    rank = Case(*(When(severity=s.value, then=Value(n)) for n, s in enumerate(AlertSeverity)),
                output_field=IntegerField())
    status_rank = Case(When(status=AlertStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return alerts.annotate(_status_rank=status_rank, _rank=rank).order_by("_status_rank", "_rank", "-raised_at", "-id")


def alerts_for(*, user, status: str | None = None, patient=None) -> QuerySet[Alert]:
    """The user's clinic's alerts (clinical roles only), open and most urgent first."""
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return Alert.objects.none()
    alerts = Alert.objects.filter(clinic_id=user.clinic_id).select_related("patient", "acknowledged_by")
    if status:
        alerts = alerts.filter(status=status)
    if patient is not None:
        alerts = alerts.filter(patient=patient)
    return _by_urgency(alerts)


def alert_get_for(*, user, alert_id: int) -> Alert:
    """Raises AlertNotFound whether the alert is absent or another clinic's."""
    try:
        return alerts_for(user=user).get(pk=alert_id)
    except Alert.DoesNotExist:
        raise AlertNotFound() from None


def open_alerts_for_patient(*, patient, min_severity: str | None = None) -> QuerySet[Alert]:
    """Open alerts of a patient the caller already holds (no user check), most urgent first."""
    alerts = Alert.objects.filter(patient=patient, status=AlertStatus.OPEN)
    if min_severity is not None:
        alerts = alerts.filter(severity__in=AlertSeverity.at_least(min_severity))
    return _by_urgency(alerts)


def open_high_suicide_risk(*, patient) -> bool:
    """True while an alert from the PHQ-9 item 9 or C-SSRS moderate/high rules is unacknowledged (blocks dosing)."""
    return Alert.objects.filter(patient=patient, status=AlertStatus.OPEN, code__in=SUICIDE_RISK_CODES).exists()


def banner_alert_count(*, clinic_id: int) -> int:
    """Open emergency/high alerts of a clinic: one indexed count, cheap enough for every page."""
    return Alert.objects.filter(clinic_id=clinic_id, status=AlertStatus.OPEN, severity__in=BANNER_SEVERITIES).count()


# Alerts for the apps that raised them. The caller already holds the patient (or clinic) and has checked access; these
# never widen it. Other apps read alerts only through these and `alerts_for`, never through the model.

def alerts_from_sources(*, clinic_id: int, patient_id: int, sources: Mapping[str, Iterable[int] | QuerySet],
                        open_only: bool = False) -> QuerySet[Alert]:
    """Alerts of one patient raised from any of `sources` ({source_type: ids or a values() queryset})."""
    base = Alert.objects.filter(clinic_id=clinic_id, patient_id=patient_id)
    alerts = Alert.objects.none()
    for source_type, ids in sources.items():
        alerts = alerts | base.filter(source_type=source_type, source_id__in=ids)
    if open_only:
        alerts = alerts.filter(status=AlertStatus.OPEN)
    return alerts.select_related("acknowledged_by").prefetch_related("findings")


def any_alert_from(*, clinic_id: int, patient_id: int, source_type: str,
                   source_ids: Iterable[int] | QuerySet) -> bool:
    return Alert.objects.filter(clinic_id=clinic_id, patient_id=patient_id, source_type=source_type,
                                source_id__in=source_ids).exists()


def alerts_with_codes(*, patient, codes) -> QuerySet[Alert]:
    """Every alert of a patient with one of these rule codes, open or acknowledged."""
    return Alert.objects.filter(patient=patient, clinic_id=patient.clinic_id, code__in=codes).select_related(
        "acknowledged_by")


def patient_alert(*, clinic_id: int, patient_id: int, alert_id: int) -> Alert | None:
    """One alert of this patient; None when absent or another patient's."""
    return Alert.objects.filter(pk=alert_id, clinic_id=clinic_id, patient_id=patient_id).first()


def open_alerts_of_patients(*, clinic_id: int, patient_ids) -> QuerySet[Alert]:
    return (Alert.objects.filter(clinic_id=clinic_id, status=AlertStatus.OPEN, patient_id__in=patient_ids)
            .prefetch_related("findings"))


# ---- On call ------------------------------------------------------------------------------------------------------

def oncall_policy(*, clinic_id: int) -> tuple[int | None, dt.timedelta]:
    """(fallback clinician id, escalation delay) in force: the newest revision, else the cited default
    (safety/domain/oncall.py)."""
    from ketacare.core.revisions import current_revision

    row = current_revision(OnCallSetting, clinic_id=clinic_id)
    minutes = row.escalation_delay_minutes if row else oncall.DEFAULT_ESCALATION_DELAY_MINUTES
    return (row.fallback_clinician_id if row else None), dt.timedelta(minutes=minutes)


def rota_at(*, clinic_id: int, at: dt.datetime, fallback: int | None) -> oncall.Rota:
    """Who is on call at `at` (the latest-starting shift covering it), with the fallback and the clinic admins."""
    from ketacare.accounts.models import User
    from ketacare.accounts.roles import Role

    shift = (OnCallShift.objects.filter(clinic_id=clinic_id, starts_at__lte=at, ends_at__gt=at)
             .order_by("-starts_at", "-id").first())
    admins = tuple(User.objects.filter(clinic_id=clinic_id, role=Role.CLINIC_ADMIN, is_active=True)
                   .order_by("pk").values_list("pk", flat=True))
    return oncall.Rota(on_call=shift.clinician_id if shift else None, backup=shift.backup_id if shift else None,
                       fallback=fallback, admins=admins)


def urgent_open_alerts(*, now: dt.datetime) -> QuerySet[Alert]:
    """Open urgent alerts of every clinic (the escalation job's input), oldest first."""
    urgent = Q(code__in=SUICIDE_RISK_CODES) | Q(severity=AlertSeverity.EMERGENCY)
    return (Alert.objects.filter(urgent, status=AlertStatus.OPEN, raised_at__lte=now, notifications__isnull=False)
            .distinct().order_by("raised_at", "id"))


def alert_notifications(*, alert: Alert) -> list[dict]:
    """Who was told about an alert the caller already holds, when, how, and the message's delivery status:
    [{"n": AlertNotification, "delivery": "Sent", "delivered_at": datetime | None}]."""
    from ketacare.messaging.selectors import messages_by_ids

    rows = list(alert.notifications.select_related("recipient"))
    messages = messages_by_ids(clinic_id=alert.clinic_id, ids=[r.message_ref for r in rows if r.message_ref])
    shown = []
    for row in rows:
        message = messages.get(row.message_ref) if row.message_ref else None
        shown.append({"n": row, "delivery": message.get_status_display() if message else "—",
                      "delivered_at": message.sent_at if message else None})
    return shown


def oncall_page_for(*, user) -> dict:
    """The rota page: upcoming and current shifts, clinicians, contacts, the policy in force and its history."""
    from ketacare.accounts.models import User
    from ketacare.accounts.roles import PERMISSIONS, Perm
    from ketacare.core import clock
    from ketacare.core.revisions import current_revision, revision_history

    if not user.has_perm_to(Perm.CLINIC_CONFIGURE):
        from ketacare.core.errors import PermissionDenied

        raise PermissionDenied()
    roles = [r for r, perms in PERMISSIONS.items() if Perm.ALERT_ACKNOWLEDGE in perms]
    staff = list(User.objects.filter(clinic_id=user.clinic_id, is_active=True).order_by("last_name", "first_name"))
    contacts = dict(StaffContact.objects.filter(clinic_id=user.clinic_id).values_list("user_id", "mobile_e164"))
    return {
        "shifts": list(OnCallShift.objects.filter(clinic_id=user.clinic_id, ends_at__gt=clock.now())
                       .select_related("clinician", "backup")),
        "clinicians": [m for m in staff if m.role in roles],
        "staff": staff,
        "contacts": [(member, contacts.get(member.pk, "")) for member in staff],
        "setting": current_revision(OnCallSetting, clinic_id=user.clinic_id),
        "history": revision_history(OnCallSetting, clinic_id=user.clinic_id),
        "policy": oncall_policy(clinic_id=user.clinic_id),
    }


def shift_get_for(*, user, shift_id: int) -> OnCallShift:
    try:
        return OnCallShift.objects.get(clinic_id=user.clinic_id, pk=shift_id)
    except OnCallShift.DoesNotExist:
        raise AlertNotFound() from None
