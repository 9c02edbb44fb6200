"""Missed esketamine sessions (treatment/domain/missed_sessions.py), esketamine-and-rems.md §3.3."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.treatment.domain.missed_sessions import (
    Advice,
    PlannedSession,
    Score,
    missed_session_advice,
    previous_schedule,
)
from ketacare.treatment.domain.protocols import ESKETAMINE_TRD

TODAY = dt.date(2026, 6, 1)
PHASES = ESKETAMINE_TRD.phases


def session(days_ago, phase, state="discharged"):
    return PlannedSession(TODAY - dt.timedelta(days=days_ago), phase, state)


def score(days_ago, total):
    return Score(TODAY - dt.timedelta(days=days_ago), Decimal(total))


@pytest.mark.parametrize(("phase", "rise", "advice"), [
    ("induction", 0, Advice.CONTINUE),
    ("induction", 10, Advice.CONTINUE),  # the first 4 weeks: the schedule simply continues, worse or not
    ("weeks 5-8", 4, Advice.NONE),  # below the worsening threshold (5 points, clinic policy)
    ("weeks 5-8", 5, Advice.CONSIDER_PREVIOUS_SCHEDULE),
    ("maintenance", 4, Advice.NONE),
    ("maintenance", 5, Advice.CONSIDER_PREVIOUS_SCHEDULE),
])
def test_missed_sessions_by_phase_and_worsening_esketamine_3_3(phase, rise, advice):
    """esketamine-and-rems.md §3.3: induction continues; maintenance with worsening prompts the prescriber."""
    sessions = [session(30, phase), session(14, phase, "scheduled"), session(2, phase, "scheduled")]
    result = missed_session_advice(sessions=sessions, phases=PHASES, phq9=[score(20, 10), score(1, 10 + rise)],
                                   today=TODAY)
    assert result is not None and result.advice is advice
    assert result.missed == (TODAY - dt.timedelta(days=14), TODAY - dt.timedelta(days=2))
    assert result.prompts_prescriber is (advice is Advice.CONSIDER_PREVIOUS_SCHEDULE)
    assert result.source == "esketamine-and-rems.md §3.3"
    if result.prompts_prescriber:
        expected = {"weeks 5-8": "twice weekly", "maintenance": "weekly"}[phase]
        assert f"previous, more frequent schedule ({expected})" in result.message


def test_no_missed_session_means_no_advice():
    sessions = [session(14, "maintenance"), session(0, "maintenance", "scheduled")]  # today is not missed yet
    assert missed_session_advice(sessions=sessions, phases=PHASES, phq9=[], today=TODAY) is None


def test_without_a_phq9_on_both_sides_it_asks_for_one_and_does_not_prompt():
    result = missed_session_advice(sessions=[session(7, "maintenance", "cancelled")], phases=PHASES,
                                   phq9=[score(1, 25)], today=TODAY)
    assert result.advice is Advice.NONE and "record a PHQ-9" in result.message


def test_the_previous_schedule_of_each_esketamine_phase_esketamine_3_1():
    assert previous_schedule(PHASES, "induction") is None
    assert previous_schedule(PHASES, "weeks 5-8") == "twice weekly"
    assert previous_schedule(PHASES, "maintenance") == "weekly"


@given(st.lists(st.tuples(st.integers(1, 60), st.sampled_from(["scheduled", "cancelled", "discharged"])),
                max_size=6),
       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 27)), max_size=5))
def test_induction_never_prompts_whatever_the_scores(rows, scores):
    sessions = [session(days, "induction", state) for days, state in rows]
    result = missed_session_advice(sessions=sessions, phases=PHASES, phq9=[score(d, t) for d, t in scores],
                                   today=TODAY)
    assert result is None or result.advice is Advice.CONTINUE
