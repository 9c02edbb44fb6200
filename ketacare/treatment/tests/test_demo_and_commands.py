"""The demo clinic gets courses at every stage and a live day on the board (idempotently); the overdue-vitals
command and the worker's periodic job alert without a board open (the board no longer checks); the vitals alerts
always match the domain's findings (Hypothesis)."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacare.core import clock
from ketacare.safety.domain.grouping import rank
from ketacare.safety.models import Alert, AlertFinding
from ketacare.seed.demo import seed_demo
from ketacare.treatment import selectors, services
from ketacare.treatment.domain.vitals import evaluate_vitals
from ketacare.treatment.models import Course, DosingSession, PatientMonitoringForm
from ketacare.treatment.tests.factories import staff, started_course, walk

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def test_demo_seeds_every_course_stage_and_a_live_day_once():
    with time_machine.travel(dt.datetime(2026, 3, 4, 16, 0, tzinfo=dt.UTC), tick=False):
        clinic, _ = seed_demo(password="demo-password-123")
        courses = Course.objects.filter(clinic=clinic)
        assert {"active", "completed", "stopped"} <= set(courses.values_list("status", flat=True))
        today = set(DosingSession.objects.filter(clinic=clinic, planned_on=clock.today())
                    .values_list("state", flat=True))
        assert {"scheduled", "checked_in", "pre_dose", "dosing", "observation", "discharged"} <= today
        assert Alert.objects.filter(clinic=clinic, status="open", code="vitals.bp.high").exists()
        forms = PatientMonitoringForm.objects.filter(clinic=clinic)
        assert forms.filter(submitted_at__isnull=False).exists() and forms.filter(submitted_at__isnull=True).exists()
        counts = (courses.count(), DosingSession.objects.count(), forms.count())
        seed_demo(password="demo-password-123")
        assert (courses.count(), DosingSession.objects.count(), forms.count()) == counts


def test_overdue_command_raises_the_alerts_without_a_board():
    nurse, prescriber = staff()
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="monitoring", traveller=traveller)
        traveller.move_to(T0 + dt.timedelta(minutes=50))
        out = StringIO()
        call_command("treatment_overdue", stdout=out)
    assert "2 overdue time points" in out.getvalue()
    assert set(AlertFinding.objects.filter(source_type="session").values_list("code", flat=True)) == {
        "vitals.overdue.15min", "vitals.overdue.40min"}
    assert Alert.objects.filter(source_type="session").count() == 1  # one alert, a part per missed time point


def test_the_worker_raises_overdue_vitals_and_the_board_no_longer_does(client):
    from django.urls import reverse

    from ketacare.worker import periodic
    from tests.factories import PASSWORD

    nurse, prescriber = staff()
    job = next(j for j in periodic.jobs() if j.name == "treatment.vitals_overdue")
    with time_machine.travel(T0, tick=False) as traveller:
        session = started_course(prescriber=prescriber).sessions.first()
        walk(session, nurse=nurse, prescriber=prescriber, until="monitoring", traveller=traveller)
        traveller.move_to(T0 + dt.timedelta(minutes=50))
        client.login(username=nurse.username, password=PASSWORD)
        assert client.get(reverse("treatment:board")).status_code == 200
        assert client.get(reverse("treatment:session-detail", args=[session.pk])).status_code == 200
        assert not Alert.objects.filter(source_type="session").exists()  # page loads raise nothing now
        assert periodic.run_due(now=clock.now()) and job.every == dt.timedelta(minutes=1)
    assert set(AlertFinding.objects.filter(source_type="session").values_list("code", flat=True)) == {
        "vitals.overdue.15min", "vitals.overdue.40min"}
    assert Alert.objects.filter(source_type="session").count() == 1  # one alert, a part per missed time point


measures = st.fixed_dictionaries({}, optional={
    "heart_rate_bpm": st.integers(20, 250), "spo2_pct": st.integers(50, 100), "resp_rate_per_min": st.integers(0, 80),
    "moaas": st.integers(0, 5), "cadss_total": st.integers(0, 92)})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=measures, bp=st.one_of(st.none(), st.integers(60, 300).flatmap(
    lambda s: st.tuples(st.just(s), st.integers(max(20, s - 150), min(200, s - 1))))))
def test_stored_alerts_are_exactly_the_domain_findings(values, bp):
    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    services.session_transition(actor=nurse, session=session, to="checked_in")
    if bp:
        values = {**values, "systolic_mmhg": bp[0], "diastolic_mmhg": bp[1]}
    if not values:
        values = {"heart_rate_bpm": 70}
    reading, alerts = services.vitals_record(actor=nurse, session=session, **values)
    expected = {f"vitals.{f.code}" for f in evaluate_vitals(selectors.to_domain_reading(reading),
                                                            selectors.session_protocol(session).thresholds)}
    assert len(alerts) == (1 if expected else 0)
    assert set(AlertFinding.objects.filter(source_type="vitals", source_id=reading.pk).values_list(
        "code", flat=True)) == expected
    assert all(a.severity == min((f.severity for f in a.findings.all()), key=rank) for a in alerts)
