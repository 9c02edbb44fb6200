"""A stored value outside Python's comfortable calendar (year 1, written before the plausible-date rule existed or
behind the ORM's back) never takes a page down: the pages render it as a marker, with status 200 (issue 16 point 1)."""

import datetime as dt

import pytest
from django.urls import reverse

from ketacare.core.templatetags.safe_dates import MARKER
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.treatment.choices import SessionState
from ketacare.treatment.models import VitalsReading
from ketacare.treatment.tests.factories import PHQ9_NONE, staff, started_course, walk

pytestmark = pytest.mark.django_db

YEAR_ONE = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def chart_with_bad_dates():
    """A session with one reading and one PHQ-9 whose times are 0001-01-01T00:00:00Z, inserted behind the services."""
    from ketacare.instruments.services import response_record

    nurse, prescriber = staff()
    session = started_course(prescriber=prescriber).sessions.first()
    walk(session, nurse=nurse, prescriber=prescriber, until=SessionState.PRE_DOSE)
    reading = VitalsReading.objects.filter(session=session).first()
    reading.pk, reading.taken_at = None, YEAR_ONE
    VitalsReading.objects.bulk_create([reading])
    response = response_record(patient=session.patient, actor=nurse, instrument_key="phq-9", answers=PHQ9_NONE,
                               answered_at=dt.datetime.now(dt.UTC), mode="clinician")
    response.pk, response.answered_at, response.entered_at = None, YEAR_ONE, YEAR_ONE
    QuestionnaireResponse.objects.bulk_create([response])
    return session, nurse, prescriber


@pytest.mark.parametrize("name", ["treatment:session-detail", "patients:detail", "outcomes:patient",
                                  "outcomes:patient-pdf", "instruments:history", "outcomes:patient-svg",
                                  "outcomes:patient-section", "treatment:board", "treatment:board-vitals",
                                  "treatment:session-measure", "treatment:course-detail"])
def test_pages_render_a_year_one_value_instead_of_failing(client, chart_with_bad_dates, name):
    session, nurse, prescriber = chart_with_bad_dates
    client.force_login(prescriber)
    by_session = {"session_id": session.pk}
    kwargs = {"treatment:session-detail": by_session, "treatment:board-vitals": by_session,
              "treatment:session-measure": by_session,
              "treatment:course-detail": {"course_id": session.course_id},
              "treatment:board": {}}.get(name, {"patient_id": session.patient_id})
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    if name == "treatment:session-detail":
        assert MARKER in response.content.decode()  # the bad reading is shown as such, not hidden


def test_the_date_filters_print_a_marker_for_values_they_cannot_show():
    from django.template import Context, Template

    rendered = Template("{{ a|date:'Y-m-d H:i' }}|{{ b|date:'Y' }}|{{ c|time:'H:i' }}|{{ d|timesince }}").render(
        Context({"a": YEAR_ONE, "b": dt.date(1, 1, 1), "c": YEAR_ONE, "d": YEAR_ONE}))
    assert rendered == "|".join([MARKER] * 4)
    fine = Template("{{ a|date:'Y-m-d' }}").render(Context({"a": dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)}))
    assert fine == "2026-03-02"
