"""The outbox: one row per message to send, and one append-only row per delivery attempt."""

from django.db import models

from ketacare.core.append_only import AppendOnlyModel
from ketacare.core.models import ClinicOwned
from ketacare.messaging.choices import AttemptOutcome, Channel, MessageStatus


class Message(ClinicOwned):
    """A message to one address, written by `enqueue` and sent by the worker. Its RFC 5322 Message-ID is fixed at
    enqueue, so a resend after a crash carries the same id and the receiving side can recognise it."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=5000)
    purpose = models.CharField(max_length=64, help_text="Why it is sent, e.g. alert.oncall or portal.invitation")
    message_id = models.CharField(max_length=200, unique=True)
    key = models.CharField(max_length=200, null=True, blank=True,
                           help_text="Idempotency key: enqueueing the same key twice returns the first message")
    status = models.CharField(max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True,
                                       help_text="While sending: after this the worker is presumed dead")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "key"], name="message_key_unique_per_clinic",
                                    condition=models.Q(key__isnull=False)),
            models.CheckConstraint(name="message_sent_has_time",
                                   condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False)),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="message_due")]

    def __str__(self) -> str:
        return f"{self.channel} {self.purpose} #{self.pk} ({self.status})"


class DeliveryAttempt(AppendOnlyModel, ClinicOwned):
    """One try at sending a message. Written when the try starts; its outcome is set once when it ends. An attempt
    left without an outcome was interrupted (the worker died while sending)."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=AttemptOutcome.choices, blank=True)
    error = models.CharField(max_length=300, blank=True, help_text="The error's type and text; never the message")

    append_only_mutable_once = ("finished_at", "outcome", "error")

    class Meta:
        ordering = ["message", "number"]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="one_attempt_per_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} of message #{self.message_id}: {self.outcome or 'interrupted'}"
