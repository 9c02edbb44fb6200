"""Stable lowercase values of the ledger's choices."""

from django.db import models

from ketacare.ledger.domain.stock import EntryKind as DomainKind


class Substance(models.TextChoices):
    KETAMINE = "ketamine", "Ketamine hydrochloride"
    ESKETAMINE = "esketamine", "Esketamine hydrochloride (SPRAVATO)"


class Unit(models.TextChoices):
    ML = "ml", "mL"
    DEVICE = "device", "device"


class LocationKind(models.TextChoices):
    SAFE = "safe", "Safe"
    CART = "cart", "Cart"
    CABINET = "cabinet", "Locked cabinet"


# The functional API keeps one list of kinds (the domain's); django-stubs types only the class form.
EntryKind = models.TextChoices("EntryKind", [(k.name, (k.value, k.value.capitalize())) for k in DomainKind])  # type: ignore[call-overload]


class TimeOfDay(models.TextChoices):
    OPENING = "opening", "Opening of business"
    CLOSE = "close", "Close of business"


class InventoryKind(models.TextChoices):
    ROUTINE = "routine", "Routine count"
    INITIAL = "initial", "Initial inventory"
    BIENNIAL = "biennial", "Biennial inventory"


class Classification(models.TextChoices):
    THEFT = "theft", "Theft"
    SIGNIFICANT_LOSS = "significant_loss", "Significant loss"
    EXPLAINED = "explained", "Explained (no loss)"
    MINOR_LOSS = "minor_loss", "Loss, not significant"


REPORTABLE = frozenset({Classification.THEFT, Classification.SIGNIFICANT_LOSS})

# The session's route -> the substance a draw for it must be.
ROUTE_SUBSTANCE = {"iv": Substance.KETAMINE, "intranasal": Substance.ESKETAMINE}
