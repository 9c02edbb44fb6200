"""Acceptance 6: two nurses recording vitals on the same session at the same moment lose nothing.

On PostgreSQL two threads, each with its own database connection, record readings in lock-step (a barrier before
every write); the session row is locked while a reading is stored, so every reading, its count, its alert and its
audit row survive. It runs on PostgreSQL only: SQLite allows one writer at a time, so two threads there would only
take turns and the test would prove nothing about concurrency.
"""

import threading

import pytest
from django.db import connection, connections

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.safety.models import Alert, AlertFinding
from ketacare.treatment import services
from ketacare.treatment.models import DosingSession, VitalsReading
from ketacare.treatment.tests.factories import SessionFactory
from tests.factories import UserFactory

ROUNDS = 8


def _record_many(nurse, session_id, barrier, errors, systolic):
    try:
        for n in range(ROUNDS):
            barrier.wait(timeout=20)
            session = DosingSession.objects.select_related("course", "patient").get(pk=session_id)
            # 185/100 crosses the default 180/110 alert: each reading must raise its own alert.
            services.vitals_record(actor=nurse, session=session, systolic_mmhg=systolic + n, diastolic_mmhg=100,
                                   heart_rate_bpm=80)
    except Exception as exc:  # surfaced in the main thread
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (SQLite has one "
                    "writer at a time); this test runs in the PostgreSQL pass")
@pytest.mark.django_db(transaction=True)
def test_two_nurses_recording_vitals_at_once_lose_nothing():
    session = SessionFactory(state="monitoring")
    nurses = [UserFactory(role="nurse", clinic=session.clinic, username=f"nurse-{n}") for n in (1, 2)]
    errors: list[Exception] = []
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_record_many, args=(nurse, session.pk, barrier, errors, 185 + 20 * i))
               for i, nurse in enumerate(nurses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    session.refresh_from_db()
    readings = VitalsReading.objects.filter(session=session)
    assert readings.count() == 2 * ROUNDS
    assert session.vitals_count == 2 * ROUNDS
    assert {r.recorded_by.username for r in readings} == {"nurse-1", "nurse-2"}
    assert sorted(readings.values_list("systolic_mmhg", flat=True)) == sorted(
        [185 + n for n in range(ROUNDS)] + [205 + n for n in range(ROUNDS)])
    # Every reading's finding is kept, all in the session's one open vitals alert (the session lock orders them).
    assert AlertFinding.objects.filter(source_type="vitals", source_id__in=readings.values("pk"),
                                       code__in=["vitals.bp.high", "vitals.bp.critical"]).count() == 2 * ROUNDS
    (alert,) = Alert.objects.filter(group_key=f"vitals:session:{session.pk}")
    assert alert.status == "open" and alert.severity == "emergency"
    assert AuditEvent.objects.filter(action=AuditAction.VITALS_RECORDED).count() == 2 * ROUNDS
