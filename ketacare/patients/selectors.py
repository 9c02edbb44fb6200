"""The one way in to patient rows: always scoped to the asking user's clinic and role."""

import datetime as dt

from django.db.models import Q, QuerySet

from ketacare.core.errors import NotFound
from ketacare.patients.models import Patient, Sex


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
        condition = Q(given_name__icontains=word) | Q(family_name__icontains=word) | Q(mrn__iexact=word)
        if _is_date(word):
            condition |= Q(date_of_birth=word)
        patients = patients.filter(condition)
    return patients


def _is_date(text: str) -> bool:
    """YYYY-MM-DD only (fromisoformat alone would also take 20240131 or 2024-W05-3)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def ages_and_sexes_for(*, user, on: dt.date) -> list[tuple[int, str]]:
    """(completed years of age on `on`, sex) of every patient of the user's clinic, for de-identified counts: nothing
    that identifies anyone, so researchers (who may not open a patient) get it too."""
    from ketacare.accounts.roles import Perm

    if not (user.has_perm_to(Perm.RESEARCH_VIEW) or user.has_perm_to(Perm.PATIENT_VIEW)):
        return []
    rows = Patient.objects.filter(clinic_id=user.clinic_id).values_list("date_of_birth", "sex")
    return [(on.year - born.year - ((on.month, on.day) < (born.month, born.day)), sex) for born, sex in rows]


def sexes() -> list[tuple[str, str]]:
    """The recorded sexes as (value, label), in display order (for counts by sex)."""
    return [(sex.value, sex.label) for sex in Sex]
