"""Choices of the messaging app (stable lowercase values)."""

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    GAVE_UP = "gave_up", "Failed (no more attempts)"
