"""Recording, cancelling or moving a session re-anchors the patient's due items through the treatment hook
(issue 11, acceptance 4, through the real treatment services)."""

import datetime as dt

import pytest
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.portal import services
from ketacare.portal.models import DueItem
from ketacare.portal.tests.factories import item_with_link, patient_with_course
from ketacare.treatment import services as treatment
from ketacare.treatment.choices import SessionState

pytestmark = pytest.mark.django_db


def by_key(patient):
    return {i.key: i for i in DueItem.objects.filter(patient=patient)}


def test_starting_a_course_creates_the_schedule_through_the_treatment_hook():
    patient, course, _nurse, _prescriber = patient_with_course()
    items = by_key(patient)
    first = course.sessions.order_by("number").first()
    assert items["baseline"].session_number == first.number
    assert f"pre:{course.pk}:2" in items
    assert all(i.status == "scheduled" for i in items.values())
    assert AuditEvent.objects.filter(action="portal_schedule_synced", patient_id=patient.pk).exists()


def test_moving_a_session_moves_its_item_and_revokes_a_link_already_sent():
    patient, course, nurse, _prescriber = patient_with_course()
    second = course.sessions.get(number=2)
    item = by_key(patient)[f"pre:{course.pk}:2"]
    link, _token = services.link_create(item=item, now=item.opens_at)
    old_target = item.target_at
    treatment.course_reschedule(actor=nurse, session=second, new_on=second.planned_on + dt.timedelta(days=1))
    item.refresh_from_db()
    link.refresh_from_db()
    assert item.target_at == old_target + dt.timedelta(days=1)
    assert link.revoked_at is not None
    assert item.invited_at is None  # a new invitation goes out for the new window


def test_cancelling_a_session_cancels_its_item_and_a_completed_item_never_changes():
    patient, course, nurse, _prescriber = patient_with_course()
    items = by_key(patient)
    done = items[f"pre:{course.pk}:3"]
    done.status, done.completed_at = "completed", timezone.now()
    done.save()
    for number in (2, 3):
        treatment.session_transition(actor=nurse, session=course.sessions.get(number=number), to=SessionState.CANCELLED,
                                     reason="patient unwell")
    items = by_key(patient)
    assert items[f"pre:{course.pk}:2"].status == "cancelled"
    assert items[f"pre:{course.pk}:3"].status == "completed"


def test_ending_a_course_cancels_every_item_still_scheduled():
    patient, course, _nurse, prescriber = patient_with_course()
    treatment.course_end(actor=prescriber, course=course, status="stopped", reason="patient moved away")
    statuses = {i.status for i in DueItem.objects.filter(patient=patient)}
    assert statuses == {"cancelled"}


def test_a_failing_listener_never_blocks_the_clinical_write(monkeypatch):
    patient, course, nurse, _prescriber = patient_with_course()

    def broken(**_kwargs):
        raise RuntimeError("portal down")

    monkeypatch.setattr(services, "schedule_sync", broken)
    second = course.sessions.get(number=2)
    new_on = second.planned_on + dt.timedelta(days=1)
    treatment.course_reschedule(actor=nurse, session=second, new_on=new_on)
    second.refresh_from_db()
    assert second.planned_on == new_on  # the move itself was saved


def test_recording_the_first_dose_creates_the_post_dose_items_at_the_dose_time():
    from ketacare.treatment.tests.factories import walk

    patient, course, nurse, prescriber = patient_with_course(start_on=timezone.localdate())
    first = course.sessions.get(number=1)
    assert not DueItem.objects.filter(patient=patient, kind="post_2h").exists()
    walk(first, nurse=nurse, prescriber=prescriber, until=SessionState.DOSING)
    first.refresh_from_db()
    items = by_key(patient)
    assert items[f"post_2h:{course.pk}:1"].target_at == first.first_dose_at + dt.timedelta(hours=2)
    assert items[f"post_24h:{course.pk}:1"].target_at == first.first_dose_at + dt.timedelta(hours=24)


def test_a_patients_override_is_a_revision_with_a_reason_and_re_anchors():
    patient, course, _nurse, prescriber = patient_with_course()
    services.schedule_override(actor=prescriber, patient=patient, overrides={"kinds": ["baseline"]},
                               reason="baseline only while travelling")
    live = DueItem.objects.filter(patient=patient, status="scheduled")
    assert [i.key for i in live] == ["baseline"]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.schedule_override(actor=prescriber, patient=patient, overrides={"follow_up_weeks": 99}, reason="x")


def test_sync_is_idempotent():
    patient, _course, _nurse, _prescriber = patient_with_course()
    assert services.schedule_sync(patient_id=patient.pk, clinic_id=patient.clinic_id) == {
        "created": 0, "moved": 0, "cancelled": 0}


def test_schedule_sync_all_repairs_a_patient_the_hook_missed():
    patient, _course, _nurse, _prescriber = patient_with_course()
    DueItem.objects.filter(patient=patient, key="baseline").delete()
    assert services.schedule_sync_all(timezone.now()) == 1
    assert DueItem.objects.filter(patient=patient, key="baseline").exists()


def test_item_with_link_factory_gives_an_open_item():
    item, link, token = item_with_link()
    assert services.link_open(token=token).state.value == "ok"
