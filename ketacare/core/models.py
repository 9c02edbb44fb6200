"""Clinics: every clinical row belongs to one, and users see only their own clinic's rows."""

from django.db import models


def field_label(model: type[models.Model] | models.Model, name: str) -> str:
    """A model field's verbose name, as text (the label a form or a message shows for it)."""
    return str(getattr(model._meta.get_field(name), "verbose_name", name))


class Clinic(models.Model):
    """A site of the network. Owns patients and every clinical record."""

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=16, unique=True, help_text="Short code used in MRNs, e.g. BOS")
    time_zone = models.CharField(max_length=64, default="America/New_York")
    next_mrn = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClinicOwned(models.Model):
    """Base for clinical records: the clinic is required and never changes."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
