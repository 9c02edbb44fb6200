"""The one way in to patient rows: always scoped to the asking user's clinic and role."""

from django.db.models import Q, QuerySet

from ketacare.core.errors import NotFound
from ketacare.patients.models import Patient


class PatientNotFound(NotFound):
    """Patient not found."""

    code = "patient_not_found"


def patient_get_for(*, user, patient_id: int) -> Patient:
    """Raises PatientNotFound whether the patient is absent or not the user's: existence never leaks."""
    try:
        return Patient.objects.visible_to(user).get(pk=patient_id)
    except Patient.DoesNotExist:
        raise PatientNotFound() from None


def patients_search_for(*, user, query: str = "") -> QuerySet[Patient]:
    """Search by name (any word, any order), MRN, or date of birth (YYYY-MM-DD)."""
    patients = Patient.objects.visible_to(user)
    for word in query.split()[:5]:
        condition = (Q(given_name__icontains=word) | Q(family_name__icontains=word) | Q(mrn__iexact=word))
        if len(word) == 10 and word[4] == "-" and word[7] == "-":
            condition |= Q(date_of_birth=word) if _is_date(word) else Q()
        patients = patients.filter(condition)
    return patients


def _is_date(text: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
