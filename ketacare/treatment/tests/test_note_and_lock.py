"""Acceptance 5: a signed session cannot be edited (service, page and model all refuse); an addendum keeps the
original note as it was."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.append_only import ImmutableRecord
from ketacare.treatment import services
from ketacare.treatment.models import DosingSession, SessionAddendum, SessionLocked, VitalsReading
from ketacare.treatment.tests.factories import BASELINE, staff, started_course, walk

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def signed():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, traveller=traveller)
        services.session_sign(actor=nurse, session=session, text="Tolerated 56 mg well; mild dizziness at 30 min.")
        session.refresh_from_db()
        yield session, nurse, prescriber


def test_the_note_is_signed_only_after_the_session_has_ended():
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    services.session_transition(actor=nurse, session=session, to="checked_in")
    with pytest.raises(services.SessionStateConflict):
        services.session_sign(actor=nurse, session=session, text="too early")
    services.session_transition(actor=nurse, session=session, to="held", reason="BP 190/120")
    with pytest.raises(ValidationError):
        services.session_sign(actor=nurse, session=session, text="  ")
    services.session_sign(actor=nurse, session=session, text="Held for BP; rebooked.")
    assert DosingSession.objects.get(pk=session.pk).signed_by == nurse


EDITS = {
    "note": lambda s, n, p: services.session_note_save(actor=n, session=s, text="changed"),
    "sign again": lambda s, n, p: services.session_sign(actor=n, session=s, text="signed again"),
    "vitals": lambda s, n, p: services.vitals_record(actor=n, session=s, **BASELINE),
    "discharge criteria": lambda s, n, p: services.discharge_criteria_record(actor=n, session=s, criteria=[]),
    "side effects": lambda s, n, p: services.side_effects_record(actor=n, session=s, effects=["nausea"]),
    "transition": lambda s, n, p: services.session_transition(actor=n, session=s, to="escalated", reason="x"),
    "adverse event": lambda s, n, p: services.adverse_event_record(actor=n, session=s, description="late",
                                                                   severity="mild", onset_at=T0),
}


def test_a_signed_session_refuses_every_change_and_stores_nothing(signed):
    session, nurse, prescriber = signed
    before = (session.note, VitalsReading.objects.count(), AuditEvent.objects.count())
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        for name, edit in EDITS.items():
            with pytest.raises(SessionLocked):
                edit(session, nurse, prescriber)
            session.refresh_from_db()
            assert (session.note, VitalsReading.objects.count(), AuditEvent.objects.count()) == before, name


def test_the_model_itself_refuses_saving_a_signed_session(signed):
    session, *_ = signed
    session.note = "rewritten history"
    with pytest.raises(SessionLocked):
        session.save()
    stale = DosingSession.objects.get(pk=session.pk)
    stale.room = "9"
    with pytest.raises(SessionLocked):
        stale.save(update_fields=["room"])


def test_an_addendum_keeps_the_original_note(signed):
    session, nurse, prescriber = signed
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        addendum = services.session_addendum_add(actor=prescriber, session=session,
                                                 text="Correction: dizziness was at 45 min, not 30.")
    session.refresh_from_db()
    assert session.note == "Tolerated 56 mg well; mild dizziness at 30 min."
    assert list(session.addenda.all()) == [addendum] and addendum.by == prescriber
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_ADDENDUM_ADDED, actor=prescriber).exists()
    addendum.text = "rewritten"
    with pytest.raises(ImmutableRecord, match="cannot change"):
        addendum.save()


def test_addenda_only_for_signed_sessions():
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    with pytest.raises(services.SessionStateConflict):
        services.session_addendum_add(actor=nurse, session=session, text="x")
    assert not SessionAddendum.objects.exists()


def test_the_signed_page_shows_no_edit_forms_and_posts_are_refused(client, signed):
    session, nurse, _ = signed
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        client.force_login(nurse)
        page = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
        assert "this session is locked" in page and "Add addendum" in page
        assert "Record vitals" not in page and "Save note" not in page
        response = client.post(f"/treatment/sessions/{session.pk}/note/", {"note": "sneaky"})
        assert response.status_code == 409
        response = client.post(f"/treatment/sessions/{session.pk}/addenda/", {"text": "Late entry: called home."})
        assert response.status_code == 302
    session.refresh_from_db()
    assert session.note.startswith("Tolerated") and session.addenda.count() == 1
