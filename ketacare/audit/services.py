"""Writing the audit trail. Call inside the same transaction as the change it records."""

from typing import Any

from django.db import connections, models, router, transaction

from ketacare.audit.chain import lock_chain
from ketacare.audit.domain.chain import CONTENT_COLUMNS, GENESIS, event_hash
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
    """Append one audit event; request id and IP come from the request being served (if any).

    The event is numbered and hashed onto its clinic's chain (audit/domain/chain.py) under that chain's lock, which
    is held until the transaction ends: called outside one, this is its own short transaction."""
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
    using = router.db_for_write(AuditEvent)
    # Inside a transaction no savepoint is needed: if this fails, the change it records must not be kept either.
    with transaction.atomic(using=using, savepoint=False):
        lock_chain(connections[using], event.clinic_id)
        chain = {"clinic_id": event.clinic_id} if event.clinic_id is not None else {"clinic__isnull": True}
        last = (AuditEvent.objects.using(using).filter(**chain).order_by("-seq")
                .values_list("seq", "hash").first())
        event.seq, event.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        event.hash = event_hash(event.prev_hash, {name: getattr(event, name) for name in CONTENT_COLUMNS})
        event.save(using=using)
    return event

