"""The demo's patient link: one demo patient with contact preferences and a questionnaire open now, so `make demo`
can print a link that works at once (the patient's date of birth is printed with it: demo data only)."""

import datetime as dt

from django.conf import settings

from ketacare.core import clock
from ketacare.patients.models import Patient
from ketacare.portal import services
from ketacare.portal.models import ContactPreference, DueItem, SecureLink

DEMO_KEY = "demo:try-it"


def demo_patient_link(clinic) -> tuple[str, Patient]:
    """A fresh link to an open PHQ-9 + GAD-7 for the clinic's first patient (earlier demo links are revoked: only
    their hashes were kept, so a new one is made each run)."""
    patient = Patient.objects.filter(clinic=clinic).order_by("mrn").first()
    assert patient is not None, "the demo clinic has patients before its portal link is made"
    now = clock.now()
    ContactPreference.objects.update_or_create(
        patient=patient, defaults={"clinic_id": clinic.pk, "email": "patient@riverside.example", "updated_at": now,
                                   "preferred_channel": "email"})
    values = {"kind": "follow_up", "instruments": ["phq-9", "gad-7"], "target_at": now,
              "opens_at": now - dt.timedelta(minutes=10), "due_at": now + dt.timedelta(days=2),
              "expires_at": now + dt.timedelta(days=6), "status": "scheduled", "completed_at": None,
              "response_ids": [], "draft": {}, "invited_at": now, "updated_at": now}
    item, created = DueItem.objects.get_or_create(clinic_id=clinic.pk, patient=patient, key=DEMO_KEY,
                                                  defaults={**values, "created_at": now})
    if not created:
        for name, value in values.items():
            setattr(item, name, value)
        item.save()
    SecureLink.objects.filter(due_item=item, revoked_at__isnull=True).update(revoked_at=now)
    _link, token = services.link_create(item=item, now=now)
    return f"{settings.KETACARE_BASE_URL}/p/{token}/", patient
