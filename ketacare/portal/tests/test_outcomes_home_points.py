"""Home responses feed the patient's trajectory and the charts mark them (issue 11, "outcomes use it")."""

import datetime as dt

import pytest
from django.utils import timezone

from ketacare.instruments import services as instruments
from ketacare.outcomes import figures
from ketacare.outcomes.selectors import definitions_for_clinic, patient_outcomes
from ketacare.treatment.tests.factories import walk

pytestmark = pytest.mark.django_db

PHQ9 = ("/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5", "/44253-3", "/44260-8")


def test_home_points_are_in_the_trajectory_and_marked_on_the_chart():
    from ketacare.portal.tests.factories import patient_with_course

    patient, course, nurse, prescriber = patient_with_course(start_on=timezone.localdate())
    walk(course.sessions.get(number=1), nurse=nurse, prescriber=prescriber, until="dosing")
    at = timezone.now() + dt.timedelta(seconds=1)
    home = instruments.response_record(patient=patient, actor=None, instrument_key="phq-9",
                                       answers={link: "LA6569-3" for link in PHQ9}, answered_at=at,
                                       mode="patient_portal")
    data = patient_outcomes(patient=patient, definitions=definitions_for_clinic(patient.clinic_id))
    phq9 = next(t for t in data.trajectories if t.key == "phq-9")
    assert home.answered_at in [m.at for m in phq9.points]
    assert [m.at for m in phq9.home] == [home.answered_at]  # the clinic's pre-dose PHQ-9 is not marked
    svg = figures.trajectory_svg(phq9, data.doses)
    assert "answered at home" in svg
    chart = figures.trajectory_json(phq9, data.doses)
    assert chart["series"][1]["label"] == "answered at home" and chart["series"][1]["line"] is False
    assert len(chart["series"][1]["points"]) == 1
