"""Access matrix rows of the safety app (see tests/test_access_matrix.py)."""

import datetime as dt

from ketacare.accounts.roles import Role
from tests.roles import CLINICAL

ACKNOWLEDGERS = frozenset({Role.PRESCRIBER, Role.NURSE})

PAGES = {
    "safety:list": ("get", CLINICAL),
    "safety:detail": ("get", CLINICAL),
    "safety:acknowledge": ("post", ACKNOWLEDGERS),
    "safety:oncall": ("get", {Role.CLINIC_ADMIN}),
    "safety:oncall-shift-add": ("post", {Role.CLINIC_ADMIN}),
    "safety:oncall-shift-remove": ("post", {Role.CLINIC_ADMIN}),
    "safety:oncall-settings": ("post", {Role.CLINIC_ADMIN}),
    "safety:oncall-contact": ("post", {Role.CLINIC_ADMIN}),
}

API = {
    ("get", "/api/v1/alerts"): CLINICAL,
    ("post", "/api/v1/alerts/{alert_id}/acknowledge"): ACKNOWLEDGERS,
}


def make_objects(clinic, patient, users) -> dict:
    from django.utils import timezone

    from ketacare.safety.models import OnCallShift
    from ketacare.safety.tests.factories import AlertFactory

    now = timezone.now()
    shift = OnCallShift.objects.create(clinic=clinic, clinician=users[Role.NURSE], starts_at=now,
                                       ends_at=now + dt.timedelta(hours=8), created_by=users[Role.CLINIC_ADMIN],
                                       created_at=now)
    return {"alert_id": AlertFactory(patient=patient).pk, "shift_id": shift.pk}
