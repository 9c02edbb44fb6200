"""De-identified aggregates for researchers: counts by age band and sex, small cells suppressed.

Small cells (< 11) suppressed per the convention in docs/domain/privacy.md §2; ages >= 90 shown as "90+"
(Safe Harbor).
"""

from collections import Counter

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
    """Zero is hidden too: showing it would let a reader subtract their way to a small cell."""
    return str(count) if count >= MIN_CELL else f"<{MIN_CELL}"


def _hidden(text: str) -> bool:
    return text.startswith("<")


@requires(Perm.RESEARCH_VIEW)
def research(request):
    today = clock.today()
    cells: Counter[tuple[str, str]] = Counter()
    for dob, sex in Patient.objects.filter(clinic_id=request.user.clinic_id).values_list("date_of_birth", "sex"):
        age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        cells[(age_band(age), sex)] += 1
    bands = ["under 18"] + [f"{lo}–{hi}" for lo, hi in AGE_BANDS] + ["90+"]
    rows = []
    for band in bands:
        shown = [suppress(cells[(band, s.value)]) for s in Sex]
        # Complementary suppression: a total next to a hidden cell would reveal it by subtraction.
        total = "hidden" if any(map(_hidden, shown)) else suppress(sum(cells[(band, s.value)] for s in Sex))
        rows.append({"band": band, "cells": shown, "total": total})
    total = "hidden" if any(r["total"] == "hidden" or _hidden(r["total"]) for r in rows) else suppress(
        sum(cells.values()))
    audit_record(actor=request.user, action=AuditAction.RESEARCH_VIEWED, data={"report": "cohort_by_age_sex"})
    return render(request, "research.html", {"rows": rows, "sexes": list(Sex), "total": total,
                                             "min_cell": MIN_CELL})
