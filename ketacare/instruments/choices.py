"""Choices of the instruments app."""

from django.db import models


class ResponseMode(models.TextChoices):
    """Who answered: the patient (entered by staff with the patient present), a clinician rating, or the portal."""

    SELF_REPORT = "self_report", "Self-report (patient answered)"
    CLINICIAN = "clinician", "Clinician-rated"
    PATIENT_PORTAL = "patient_portal", "Patient portal"


class ResponseStatus(models.TextChoices):
    COMPLETE = "complete", "Complete"
    INCOMPLETE = "incomplete", "Incomplete"
