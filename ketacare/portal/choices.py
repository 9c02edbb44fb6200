"""Stable stored values of the portal app (lowercase; the domain enums hold the same values)."""

from django.db import models

from ketacare.portal.domain.schedule import Kind as DomainKind


class DueKind(models.TextChoices):
    BASELINE = DomainKind.BASELINE.value, "Baseline"
    PRE_DOSE = DomainKind.PRE_DOSE.value, "Before a session"
    POST_2H = DomainKind.POST_2H.value, "2 hours after a dose"
    POST_24H = DomainKind.POST_24H.value, "24 hours after a dose"
    FOLLOW_UP = DomainKind.FOLLOW_UP.value, "Weekly follow-up"
    MAINTENANCE = DomainKind.MAINTENANCE.value, "Maintenance check-in"


class DueStatus(models.TextChoices):
    """Stored status; open / overdue / expired are read from the times (domain.schedule.item_state)."""

    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"  # its session was cancelled or moved it away


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message (SMS)"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"
