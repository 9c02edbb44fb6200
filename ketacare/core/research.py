"""De-identified aggregates for researchers: counts by age band and sex, small cells suppressed.

Small cells (< 11) suppressed per the convention in shared/domain/privacy.md §2; ages >= 90 shown as "90+" (Safe Harbor).
"""

from collections import Counter

from django.db import transaction
from django.shortcuts import render

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.patients.models import Patient, Sex

MIN_CELL = 11
AGE_BANDS = [(18, 29), (30, 44), (45, 64), (65, 89)]


def age_band(age: int) -> str:
    if age >= 90:
        return "90+"
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}–{high}"
    return "under 18"


def suppress(count: int) -> str:
    return str(count) if count >= MIN_CELL or count == 0 else f"<{MIN_CELL}"


@requires(Perm.RESEARCH_VIEW)
def research(request):
    today = clock.today()
    cells: Counter[tuple[str, str]] = Counter()
    for dob, sex in Patient.objects.filter(clinic_id=request.user.clinic_id).values_list("date_of_birth", "sex"):
        age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        cells[(age_band(age), sex)] += 1
    bands = ["under 18"] + [f"{lo}–{hi}" for lo, hi in AGE_BANDS] + ["90+"]
    rows = [{"band": b, "cells": [suppress(cells[(b, s.value)]) for s in Sex],
             "total": suppress(sum(cells[(b, s.value)] for s in Sex))} for b in bands]
    total = sum(cells.values())
    with transaction.atomic():
        audit_record(actor=request.user, action=AuditAction.RESEARCH_VIEWED, data={"report": "cohort_by_age_sex"})
    return render(request, "research.html", {"rows": rows, "sexes": list(Sex), "total": suppress(total),
                                             "min_cell": MIN_CELL})
