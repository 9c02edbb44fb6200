"""Portal test helpers: a patient with a course (so due items exist), an open item with a link."""

import datetime as dt

from django.utils import timezone

from ketacare.portal import services
from ketacare.portal.models import DueItem
from ketacare.treatment.tests.factories import staff, started_course
from tests.factories import PatientFactory


def patient_with_course(protocol_ref="esketamine-trd@1", start_on=None, **kwargs):
    nurse, prescriber = staff()
    patient = PatientFactory(clinic=prescriber.clinic, **kwargs)
    course = started_course(protocol_ref=protocol_ref, patient=patient, prescriber=prescriber,
                            start_on=start_on or timezone.localdate() + dt.timedelta(days=3))
    return patient, course, nurse, prescriber


def open_item(patient=None, instruments=("phq-9",), **kwargs) -> DueItem:
    """A scheduled item open now (written directly: link and page tests need no course)."""
    patient = patient or PatientFactory()
    now = timezone.now()
    values = {"kind": "follow_up", "instruments": list(instruments), "target_at": now,
              "opens_at": now - dt.timedelta(hours=1), "due_at": now + dt.timedelta(days=1),
              "expires_at": now + dt.timedelta(days=2), "created_at": now, "updated_at": now, **kwargs}
    key = values.pop("key", f"test:{DueItem.objects.count() + 1}")
    return DueItem.objects.create(clinic_id=patient.clinic_id, patient=patient, key=key, **values)


def item_with_link(**kwargs):
    item = open_item(**kwargs)
    link, token = services.link_create(item=item)
    return item, link, token


def dob(day) -> dict:
    """The date-of-birth form's three fields."""
    return {"dob_month": str(day.month), "dob_day": str(day.day), "dob_year": str(day.year)}
