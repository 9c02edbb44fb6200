"""Raising and acknowledging safety alerts. Each writes its audit row in the same transaction."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import Conflict
from ketacare.safety.choices import AlertStatus
from ketacare.safety.models import Alert
from ketacare.safety.selectors import AlertNotFound

ACTION_REQUIRED = "Describe the action taken (e.g. the assessment done and its outcome)."


class AlertAlreadyAcknowledged(Conflict):
    """This alert was already acknowledged; an acknowledged alert does not change."""

    code = "alert_already_acknowledged"


@transaction.atomic
def alert_raise(*, patient, code: str, severity: str, message: str, source_type: str, source_id: int,
                actor=None) -> Alert:
    """Open an alert for a rule that fired on a source record. Idempotent per (source_type, source_id, code):
    raising it again returns the existing alert, open or acknowledged."""
    existing = Alert.objects.filter(source_type=source_type, source_id=source_id, code=code).first()
    if existing is not None:
        return existing
    alert = Alert(clinic_id=patient.clinic_id, patient=patient, code=code, severity=severity, message=message[:500],
                  source_type=source_type, source_id=source_id, raised_at=clock.now(),
                  raised_by=actor if getattr(actor, "pk", None) else None)
    alert.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:  # raised concurrently by another request
        return Alert.objects.get(source_type=source_type, source_id=source_id, code=code)
    audit_record(actor=actor, action=AuditAction.ALERT_RAISED, target=alert, patient_id=patient.pk,
                 clinic_id=patient.clinic_id, username="" if actor else "system",
                 data={"code": code, "severity": severity, "source": f"{source_type}:{source_id}"})
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor, action: str) -> Alert:
    """Record who acknowledged the alert, when, the action taken and how long it was open. Final: an acknowledged
    alert is never acknowledged again or changed."""
    require(actor, Perm.ALERT_ACKNOWLEDGE)
    if actor.clinic_id != alert.clinic_id:
        raise AlertNotFound()
    action = (action or "").strip()
    if not action:
        raise ValidationError({"action": ACTION_REQUIRED})
    current = Alert.objects.select_for_update().get(pk=alert.pk)
    if current.status != AlertStatus.OPEN:
        raise AlertAlreadyAcknowledged()
    now = clock.now()
    current.status = AlertStatus.ACKNOWLEDGED
    current.acknowledged_by = actor
    current.acknowledged_at = now
    current.action_taken = action
    current.seconds_to_acknowledge = max(0, int((now - current.raised_at).total_seconds()))
    current.full_clean(validate_constraints=False)
    current.save()
    audit_record(actor=actor, action=AuditAction.ALERT_ACKNOWLEDGED, target=current, patient_id=current.patient_id,
                 data={"code": current.code, "seconds_to_acknowledge": current.seconds_to_acknowledge})
    return current


@transaction.atomic
def alerts_listed(*, actor, count: int, status: str, via: str) -> None:
    """Record that the actor read the clinic's alert list (it names patients)."""
    audit_record(actor=actor, action=AuditAction.ALERTS_LISTED, data={"count": count, "status": status, "via": via})
