"""Writing the audit trail. Call inside the same transaction as the change it records."""

from typing import Any

from django.db import models

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core import clock, context
from ketacare.core.text import digest_large_values


def audit_record(
    *,
    actor: Any,
    action: AuditAction,
    target: models.Model | None = None,
    patient_id: int | None = None,
    clinic_id: int | None = None,
    data: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one audit event; request id and IP come from the request being served (if any)."""
    action = AuditAction(action)  # an unknown action is a programming error: ValueError
    meta = context.current()
    is_user = actor is not None and getattr(actor, "pk", None) is not None
    event = AuditEvent(
        at=clock.now(),
        actor=actor if is_user else None,
        actor_username=actor.get_username() if is_user else username,
        actor_role=getattr(actor, "role", "") if is_user else "",
        clinic_id=clinic_id if clinic_id is not None else (getattr(actor, "clinic_id", None) if is_user else None),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        patient_id=patient_id,
        request_id=meta.request_id,
        ip=meta.ip,
        data=digest_large_values(data or {}),  # long free text as a digest, not a copy
    )
    event.save()
    return event
