"""Reads of the outbox, scoped to the actor's clinic."""

from django.db.models import QuerySet

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.messaging.models import Message


def outbox_for(*, user, status: str = "") -> QuerySet[Message]:
    """The clinic's messages, newest first, with their attempts (clinic admins only)."""
    require(user, Perm.CLINIC_CONFIGURE)
    rows = Message.objects.filter(clinic_id=user.clinic_id).prefetch_related("delivery_attempts")
    return rows.filter(status=status) if status else rows


def messages_by_ids(*, clinic_id: int, ids) -> dict[int, Message]:
    """Messages of one clinic by id (for other apps that keep the id enqueue returned, e.g. alert notifications)."""
    return {m.pk: m for m in Message.objects.filter(clinic_id=clinic_id, pk__in=list(ids))}
