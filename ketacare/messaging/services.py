"""The outbox: `enqueue` writes a message (sent by the worker after the transaction commits); `deliver` sends one.

Delivery is at least once, and the bound on duplicates is the lease: a message is claimed by an atomic conditional
update (queued and due, or sending with its lease run out), so two workers never send it at once; a worker killed
after the send and before recording it leaves the message "sending", and once the lease has run out the sweep
sends it again with the same Message-ID. No patient data goes into log lines or attempt errors.
"""

import datetime as dt
import logging
import re
import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError
from ketacare.messaging.choices import AttemptOutcome, Channel, MessageStatus
from ketacare.messaging.domain import phi
from ketacare.messaging.domain.retry import RetryPolicy
from ketacare.messaging.models import DeliveryAttempt, Message
from ketacare.messaging.sms import sms_backend

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SUBJECT_MAX = 200
BODY_MAX = 5000


class MessageRefused(DomainError):
    """The message was not queued: it names what is wrong (an address, an empty body, disclosing words)."""

    code = "message.refused"
    http_status = 422


def retry_policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.KETACARE_MESSAGING_MAX_ATTEMPTS,
                       base=dt.timedelta(seconds=settings.KETACARE_MESSAGING_RETRY_BASE_SECONDS),
                       cap=dt.timedelta(seconds=max(settings.KETACARE_MESSAGING_RETRY_BASE_SECONDS, 3600)))


def _check(*, clinic, channel: str, to: str, subject: str, body: str, purpose: str) -> None:
    if channel not in Channel.values:
        raise MessageRefused(f"Unknown channel {channel!r}: use one of {', '.join(Channel.values)}.")
    if channel == Channel.EMAIL:
        try:
            validate_email(to)
        except ValidationError:
            raise MessageRefused("The recipient is not a valid email address.") from None
    elif not E164.match(to or ""):
        raise MessageRefused("An SMS recipient needs a phone number in international form, e.g. +15551234567.")
    if not (body or "").strip():
        raise MessageRefused("The message body is empty.")
    if len(body) > BODY_MAX or len(subject or "") > SUBJECT_MAX:
        raise MessageRefused(f"Keep the subject under {SUBJECT_MAX} and the body under {BODY_MAX} characters.")
    if channel == Channel.SMS and subject:
        raise MessageRefused("An SMS has no subject.")
    if not (purpose or "").strip() or len(purpose) > 64:
        raise MessageRefused("Say what the message is for (purpose, at most 64 characters).")
    words = phi.findings(f"{subject}\n{body}", allowed=[clinic.name])
    if words:
        raise MessageRefused(f"A message must not disclose treatment; remove: {', '.join(words)}.")


def enqueue(*, clinic, channel: str, to: str, subject: str, body: str, purpose: str,
            key: str | None = None) -> Message:
    """Queue a message for the worker. The same `key` (per clinic) twice returns the first message and queues
    nothing new. The send is scheduled when the surrounding transaction commits, so a rolled-back caller sends
    nothing. Refuses bad addresses and disclosing text with `MessageRefused`, writing nothing."""
    if key is not None and (not key.strip() or len(key) > 200):
        raise MessageRefused("An idempotency key must be 1 to 200 characters.")
    with transaction.atomic():
        if key is not None:
            existing = Message.objects.filter(clinic_id=clinic.pk, key=key).first()
            if existing is not None:
                return existing
        _check(clinic=clinic, channel=channel, to=to, subject=subject or "", body=body, purpose=purpose)
        now = clock.now()
        message = Message(clinic_id=clinic.pk, channel=channel, to_address=to, subject=subject or "", body=body,
                          purpose=purpose, key=key, status=MessageStatus.QUEUED, next_attempt_at=now,
                          created_at=now, message_id=make_msgid(domain=settings.KETACARE_MESSAGE_ID_DOMAIN))
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            if key is None:
                raise
            return Message.objects.get(clinic_id=clinic.pk, key=key)  # the same key queued concurrently
        audit_record(actor=None, action=AuditAction.MESSAGE_QUEUED, target=message, clinic_id=clinic.pk,
                     username="system", data={"channel": channel, "purpose": purpose})
        pk = message.pk
        transaction.on_commit(lambda: schedule_delivery(message_id=pk))
    return message


def schedule_delivery(*, message_id: int, run_after: dt.datetime | None = None) -> None:
    """Hand the message to the worker (a django.tasks task; `run_after` for a retry)."""
    from ketacare.messaging.tasks import deliver_message

    task = deliver_message.using(run_after=run_after) if run_after else deliver_message
    task.enqueue(message_id)


def _claim(message_id: int, now: dt.datetime) -> Message | None:
    lease = now + dt.timedelta(seconds=settings.KETACARE_MESSAGING_LEASE_SECONDS)
    due = Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now) | Q(status=MessageStatus.SENDING,
                                                                        lease_until__lt=now)
    claimed = Message.objects.filter(due, pk=message_id).update(status=MessageStatus.SENDING, lease_until=lease,
                                                                attempts=F("attempts") + 1)
    return Message.objects.get(pk=message_id) if claimed else None


def _send(message: Message) -> None:
    if message.channel == Channel.EMAIL:
        email = EmailMessage(subject=message.subject, body=message.body, to=[message.to_address],
                             headers={"Message-ID": message.message_id})
        email.send()
    else:
        sms_backend().send(to=message.to_address, body=message.body, message_id=message.message_id)


def _error_text(exc: BaseException, message: Message) -> str:
    """The error without the message's content or address (SMTP errors echo the recipient)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: SMTP {exc.smtp_code}"
    text = f"{type(exc).__name__}: {exc}".replace(message.to_address, "<recipient>")
    return text[:300]


def deliver(*, message_id: int, worker: str = "") -> str:
    """Try to send one message now: "sent", "retry", "failed", or "skipped" (not due, being sent by another
    worker, or already sent). Every try is a DeliveryAttempt row."""
    now = clock.now()
    message = _claim(message_id, now)
    if message is None:
        return "skipped"
    attempt = DeliveryAttempt.objects.create(clinic_id=message.clinic_id, message=message, number=message.attempts,
                                             worker=worker[:64], started_at=now)
    try:
        _send(message)
    except Exception as exc:  # any failure of the transport is retried; the error is recorded without PHI
        error = _error_text(exc, message)
        finished = clock.now()
        next_at = retry_policy().next_attempt_at(attempt=message.attempts, now=finished)
        with transaction.atomic():
            attempt.finished_at, attempt.error = finished, error
            attempt.outcome = AttemptOutcome.FAILED if next_at else AttemptOutcome.GAVE_UP
            attempt.save()
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.QUEUED if next_at else MessageStatus.FAILED,
                next_attempt_at=next_at or message.next_attempt_at, lease_until=None)
        logger.warning("message %s attempt %s failed (%s)%s", message.pk, message.attempts, type(exc).__name__,
                       "" if next_at else "; no more attempts")
        if next_at:
            transaction.on_commit(lambda: schedule_delivery(message_id=message.pk, run_after=next_at))
            return "retry"
        return "failed"
    finished = clock.now()
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, sent_at=finished, lease_until=None)
        attempt.finished_at, attempt.outcome = finished, AttemptOutcome.SENT
        attempt.save()
    return "sent"


def _deliveries_waiting() -> bool:
    """Whether delivery tasks are still waiting for a worker (a backlog, not lost tasks)."""
    from django_tasks_db.models import DBTaskResult

    from ketacare.messaging.tasks import deliver_message

    return DBTaskResult.objects.ready().filter(task_path=deliver_message.module_path).exists()


def sweep(now: dt.datetime) -> int:
    """Re-schedule messages that no task is carrying: sending with the lease run out (a worker killed mid-send), and,
    once no delivery task is waiting (so a backlog is not taken for lost tasks), queued and due for longer than the
    grace period (a task lost with a dead worker). Run by the scheduler."""
    grace = dt.timedelta(seconds=settings.KETACARE_MESSAGING_SWEEP_GRACE_SECONDS)
    stale_q = Q(status=MessageStatus.SENDING, lease_until__lt=now)
    if not _deliveries_waiting():
        stale_q |= Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now - grace)
    stale = Message.objects.filter(stale_q)
    ids = list(stale.order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
    for pk in ids:
        schedule_delivery(message_id=pk)
    if ids:
        logger.info("sweep re-scheduled %s message(s)", len(ids))
    return len(ids)


@transaction.atomic
def outbox_viewed(*, actor, count: int) -> None:
    """Record that the clinic admin read the outbox (message bodies may carry a first name and a link)."""
    audit_record(actor=actor, action=AuditAction.OUTBOX_VIEWED, data={"count": count})
