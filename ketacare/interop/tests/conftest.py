"""The interop tests' shared record: a treated patient with vitals, questionnaires, doses, an alert, an amendment."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from ketacare.instruments import services as instrument_services
from ketacare.treatment.tests.factories import PHQ9_ITEM9_POSITIVE, PHQ9_NONE, staff, started_course, walk

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def record():
    """An esketamine session walked to discharge (vitals, pre-dose questionnaires, two devices), then a PHQ-9 at
    home with item 9 positive (an alert) and an amended PHQ-9."""
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, traveller=traveller)
        patient = session.patient
        traveller.shift(dt.timedelta(days=1))
        instrument_services.response_record(patient=patient, actor=nurse, instrument_key="phq-9",
                                            answers=PHQ9_ITEM9_POSITIVE, answered_at=timezone.now(),
                                            mode="self_report")
        traveller.shift(dt.timedelta(days=1))
        wrong = instrument_services.response_record(patient=patient, actor=nurse, instrument_key="phq-9",
                                                    answers=PHQ9_NONE, answered_at=timezone.now(),
                                                    mode="self_report")
        amended = instrument_services.response_amend(original=wrong, actor=nurse,
                                                     answers={**PHQ9_NONE, "/44250-9": "LA6570-1"},
                                                     reason="entered on the wrong line")
    return {"patient": patient, "nurse": nurse, "prescriber": prescriber, "session": session, "wrong": wrong,
            "amended": amended}
