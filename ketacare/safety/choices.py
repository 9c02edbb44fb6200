"""Choices of the safety app. Severity values are the instruments domain's (docs/domain/instruments.md §13)."""

from django.db import models


class AlertSeverity(models.TextChoices):
    """Most urgent first; `rank` orders them (0 = most urgent)."""

    EMERGENCY = "emergency", "Emergency"
    HIGH = "high", "High"
    MODERATE = "moderate", "Moderate"
    LOW = "low", "Low"
    PROMPT = "prompt", "Check needed"

    @classmethod
    def at_least(cls, severity: str) -> list[str]:
        """This severity and every more urgent one, e.g. at_least("high") == ["emergency", "high"]."""
        values = [s.value for s in cls]
        return values[: values.index(cls(severity).value) + 1]


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
