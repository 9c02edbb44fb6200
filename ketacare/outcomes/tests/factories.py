"""Outcome test data: patients with whole synthetic treatment histories (the `ketacare synth` generator), staff,
and progress letters."""

import datetime as dt

from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.outcomes.models import ProgressLetter
from ketacare.seed.synth import add_patients
from tests.factories import UserFactory


def staff(clinic) -> dict[str, object]:
    return {"prescriber": UserFactory(clinic=clinic, role=Role.PRESCRIBER),
            "nurse": UserFactory(clinic=clinic, role=Role.NURSE)}


def treated_patients(clinic, count: int = 1, *, seed: int = 7, users=None, **kwargs) -> list[int]:
    users = users or staff(clinic)
    return add_patients(clinic=clinic, prescribers=[users["prescriber"].pk], nurses=[users["nurse"].pk],
                        count=count, seed=seed, **kwargs)


def letter(patient, author, **fields) -> ProgressLetter:
    now = timezone.now()
    values = {"clinic_id": patient.clinic_id, "patient": patient, "snapshot": {
              "drafted_on": dt.date.today().isoformat(),
              "patient": {"name": patient.full_name, "date_of_birth": "1985-06-15", "mrn": patient.mrn},
              "courses": [], "doses": [], "dose_times": [], "scores": [], "series": {}, "adverse_events": [],
              "side_effects": [], "peak_cadss": None, "suicide_latest": None, "suicide_positive": 0},
              "created_by": author, "created_at": now, "updated_by": author, "updated_at": now,
              "recipient_name": "Dr. Morgan Ellis", "summary": "Doing well."}
    values.update(fields)
    return ProgressLetter.objects.create(**values)
