"""Reading alerts: always scoped to the asking user's clinic, or to a patient the caller already holds."""

from collections.abc import Iterable, Mapping

from django.db.models import Case, IntegerField, QuerySet, Value, When

from ketacare.accounts.roles import Perm
from ketacare.core.errors import NotFound
from ketacare.safety.choices import AlertSeverity, AlertStatus
from ketacare.safety.domain.rules import BANNER_SEVERITIES, SUICIDE_RISK_CODES
from ketacare.safety.models import Alert


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
    return alerts.select_related("acknowledged_by")


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
    return Alert.objects.filter(clinic_id=clinic_id, status=AlertStatus.OPEN, patient_id__in=patient_ids)
