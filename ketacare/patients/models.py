"""Patients: identity and contact. Clinical data lives in the other apps and points here."""

from django.db import models

from ketacare.core.models import ClinicOwned
from ketacare.patients import validators as v


class Sex(models.TextChoices):
    """Administrative sex (FHIR AdministrativeGender values, fhir-mapping.md)."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PatientQuerySet":
        from ketacare.accounts.roles import Perm

        if not user.has_perm_to(Perm.PATIENT_VIEW):
            return self.none()
        return self.filter(clinic_id=user.clinic_id)


class Patient(ClinicOwned):
    """A person treated at one clinic."""

    mrn = models.CharField("MRN", max_length=32, validators=[v.validate_mrn])
    given_name = models.CharField(max_length=100, validators=[v.validate_person_name])
    family_name = models.CharField(max_length=100, validators=[v.validate_person_name])
    date_of_birth = models.DateField(validators=[v.validate_birth_date])
    sex = models.CharField(max_length=8, choices=Sex.choices)
    phone = models.CharField(max_length=20, blank=True, validators=[v.validate_phone])
    email = models.EmailField(max_length=254, blank=True)
    address_line = models.CharField(max_length=200, blank=True, validators=[v.validate_no_markup])
    city = models.CharField(max_length=100, blank=True, validators=[v.validate_no_markup])
    state = models.CharField(max_length=2, blank=True, validators=[v.validate_no_markup])
    postal_code = models.CharField("ZIP code", max_length=10, blank=True, validators=[v.validate_zip])
    emergency_contact_name = models.CharField(max_length=200, blank=True, validators=[v.validate_no_markup])
    emergency_contact_phone = models.CharField(max_length=20, blank=True, validators=[v.validate_phone])
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [models.UniqueConstraint(fields=["clinic", "mrn"], name="unique_mrn_per_clinic")]
        indexes = [models.Index(fields=["clinic", "family_name", "given_name"])]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
