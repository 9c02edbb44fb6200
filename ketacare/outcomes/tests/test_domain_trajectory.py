"""Trajectory rules against hand-worked tables (cut-offs from docs/domain/instruments.md via definitions.py)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.outcomes.domain.definitions import (
    DEFAULT_DEFINITIONS,
    Direction,
    OutcomeDefinition,
    RapidReliefWindow,
    RelapseKind,
    RelapseRule,
)
from ketacare.outcomes.domain.trajectory import (
    Measurement,
    RelapseStatus,
    TimeToEvent,
    choose_baseline,
    improvement_pct,
    is_remission,
    is_response,
    point_outcomes,
    rapid_relief,
    relapse_after_series,
    time_to_first_response,
)

PHQ9 = DEFAULT_DEFINITIONS["phq-9"]
LSAS_SR = DEFAULT_DEFINITIONS["lsas-sr"]
VAS = DEFAULT_DEFINITIONS["vas-anxiety"]
FIRST_DOSE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def m(days: float, total, *, start: datetime = FIRST_DOSE) -> Measurement:
    return Measurement(at=start + timedelta(days=days), total=total)


# --- response and remission ------------------------------------------------------------------------------------

# (instrument, baseline, total, response) — worked by hand from each definition.
RESPONSE_TABLE = [
    ("phq-9", 14, 7, True),  # exactly 50 % counts (>=)
    ("phq-9", 14, 8, False),  # 42.9 %
    ("phq-9", 15, 7, True),  # 53.3 %
    ("gad-7", 15, 8, False),  # 46.7 %
    ("lsas-sr", 60, 39, False),  # exactly 35 % does not count (> 35 %)
    ("lsas-sr", 60, 38, True),  # 36.7 %
    ("lsas-cr", 100, 65, False),  # exactly 35 %
    ("lsas-cr", 100, 64, True),
    ("spin", 40, 20, True),
    ("spin", 40, 21, False),
    ("mini-spin", 9, 5, False),  # 44.4 %
    ("mini-spin", 9, 4, True),
    ("vas-anxiety", 70, Decimal("35.0"), True),  # VAS in mm, exactly 50 %
    ("vas-anxiety", 70, Decimal("35.1"), False),
    ("phq-9", 12, 15, False),  # worse than baseline
]


@pytest.mark.parametrize(("key", "baseline", "total", "expected"), RESPONSE_TABLE)
def test_response_matches_hand_worked_table(key, baseline, total, expected):
    assert is_response(Decimal(baseline), Decimal(total), DEFAULT_DEFINITIONS[key]) is expected


# (instrument, total, remission) — inclusive max total.
REMISSION_TABLE = [
    ("phq-9", 4, True),
    ("phq-9", 5, False),
    ("gad-7", 4, True),
    ("gad-7", 5, False),
    ("lsas-sr", 29, True),
    ("lsas-sr", 30, False),
    ("spin", 18, True),
    ("spin", 19, False),
    ("mini-spin", 5, True),
    ("mini-spin", 6, False),
    ("vas-anxiety", 0, None),  # no remission rule
]


@pytest.mark.parametrize(("key", "total", "expected"), REMISSION_TABLE)
def test_remission_matches_hand_worked_table(key, total, expected):
    assert is_remission(Decimal(total), DEFAULT_DEFINITIONS[key]) is expected


def test_zero_baseline_makes_response_and_percentages_undefined():
    assert is_response(Decimal(0), Decimal(0), PHQ9) is None
    assert improvement_pct(Decimal(0), Decimal(3), PHQ9) is None


def test_improvement_percentage_is_exact():
    assert improvement_pct(Decimal(60), Decimal(39), LSAS_SR) == Decimal(35)
    assert improvement_pct(Decimal(12), Decimal(15), PHQ9) == Decimal(-25)


HIGHER_BETTER = OutcomeDefinition(
    instrument_key="wellbeing-toy",
    response_pct_reduction=Decimal(50),
    response_strict=False,
    remission_max_total=Decimal(20),
    relapse=RelapseRule(kind=RelapseKind.PCT_OF_BASELINE, pct_of_baseline=Decimal(120), consecutive=1),
    direction=Direction.HIGHER_IS_BETTER,
)


def test_higher_is_better_instrument_reverses_every_rule():
    assert improvement_pct(Decimal(10), Decimal(15), HIGHER_BETTER) == Decimal(50)
    assert is_response(Decimal(10), Decimal(15), HIGHER_BETTER) is True
    assert is_response(Decimal(10), Decimal(14), HIGHER_BETTER) is False
    assert is_remission(Decimal(20), HIGHER_BETTER) is True
    assert is_remission(Decimal(19), HIGHER_BETTER) is False
    # relapse: falls back to <= 120 % of baseline (12), first measurement after the index.
    points = [m(1, 18), m(8, 13), m(15, 12)]
    outcome = relapse_after_series(points, baseline=m(-1, 10), last_dose_at=FIRST_DOSE, definition=HIGHER_BETTER)
    assert (outcome.status, outcome.days) == (RelapseStatus.RELAPSED, 15.0)


# --- baseline -------------------------------------------------------------------------------------------------


def test_baseline_is_last_value_on_or_before_first_dose():
    points = [m(-20, 22), m(-10, 20), m(0, 18), m(2 / 24, 12)]  # 0 = at the dose instant (pre-dose)
    assert choose_baseline(points, first_dose_at=FIRST_DOSE, definition=PHQ9) == m(0, 18)


def test_baseline_must_fall_within_the_window():
    assert choose_baseline([m(-10, 20)], first_dose_at=FIRST_DOSE, definition=PHQ9) == m(-10, 20)
    assert choose_baseline([m(-14, 20)], first_dose_at=FIRST_DOSE, definition=PHQ9) == m(-14, 20)
    assert choose_baseline([m(-14.01, 20)], first_dose_at=FIRST_DOSE, definition=PHQ9) is None
    assert choose_baseline([m(-10, 60)], first_dose_at=FIRST_DOSE, definition=LSAS_SR) is None  # 7-day window
    assert choose_baseline([m(1, 20)], first_dose_at=FIRST_DOSE, definition=PHQ9) is None


# --- a PHQ-9 course, worked by hand ---------------------------------------------------------------------------
# Baseline 18 (pre-dose). Response needs total <= 9, remission total <= 4.
#   day  total  change  % change  response  remission
#   2    12     -6      -33.33    no        no
#   5    9      -9      -50       yes       no
#   9    4      -14     -77.78    yes       yes
#   12   5      -13     -72.22    yes       no
PHQ9_COURSE = [m(-3, 21), m(0, 18), m(2, 12), m(5, 9), m(9, 4), m(12, 5)]


def test_point_outcomes_match_hand_worked_course():
    baseline = choose_baseline(PHQ9_COURSE, first_dose_at=FIRST_DOSE, definition=PHQ9)
    rows = point_outcomes(PHQ9_COURSE, baseline=baseline, definition=PHQ9)
    got = [
        ((r.at - FIRST_DOSE).days, int(r.total), int(r.change), round(r.pct_change, 2), r.is_response, r.is_remission)
        for r in rows
    ]
    assert got == [
        (2, 12, -6, Decimal("-33.33"), False, False),
        (5, 9, -9, Decimal("-50.00"), True, False),
        (9, 4, -14, Decimal("-77.78"), True, True),
        (12, 5, -13, Decimal("-72.22"), True, False),
    ]


def test_time_to_first_response_is_days_from_first_dose():
    baseline = m(0, 18)
    ttr = time_to_first_response(PHQ9_COURSE, baseline=baseline, first_dose_at=FIRST_DOSE, definition=PHQ9)
    assert ttr == TimeToEvent(days=5.0, event=True)


def test_time_to_first_response_is_censored_at_last_measurement_without_response():
    points = [m(0, 18), m(2, 12), m(6.5, 10)]
    ttr = time_to_first_response(points, baseline=m(0, 18), first_dose_at=FIRST_DOSE, definition=PHQ9)
    assert ttr == TimeToEvent(days=6.5, event=False)
    assert time_to_first_response([m(0, 18)], baseline=m(0, 18), first_dose_at=FIRST_DOSE, definition=PHQ9) is None


# --- rapid relief ---------------------------------------------------------------------------------------------
# VAS-Anxiety, window: value nearest dose + 3 h within +/- 1 h, pre-dose value within 24 h before the dose.
#   dose          pre (value)      post (value)         improvement   response (>= 50 %)
#   day 0 10:00   09:30 (70)       12:30 (40), 30 min   42.86 %       no  (13:45 = 45 min away loses)
#   day 2 10:00   09:00 (60)       none (14:10 is 70 min away)
#   day 4 10:00   10:00 (50)       13:00 (25)           50 %          yes (value at the dose instant is pre-dose)
#   day 6 10:00   none (last was day 4)   13:30 (20)
def test_rapid_relief_matches_hand_worked_sessions():
    day0 = datetime(2026, 3, 2, tzinfo=UTC)

    def at(day: int, hh: int, mm: int = 0) -> datetime:
        return day0 + timedelta(days=day, hours=hh, minutes=mm)

    doses = [at(0, 10), at(2, 10), at(4, 10), at(6, 10)]
    points = [
        Measurement(at(0, 7), 72),
        Measurement(at(0, 9, 30), 70),
        Measurement(at(0, 12, 30), 40),
        Measurement(at(0, 13, 45), 30),
        Measurement(at(2, 9), 60),
        Measurement(at(2, 14, 10), 25),
        Measurement(at(4, 10), 50),
        Measurement(at(4, 13), 25),
        Measurement(at(6, 13, 30), 20),
    ]
    sessions = rapid_relief(points, dose_times=doses, definition=VAS)
    got = [
        (
            s.pre and int(s.pre.total),
            s.post and int(s.post.total),
            None if s.improvement_pct is None else round(s.improvement_pct, 2),
            s.is_response,
        )
        for s in sessions
    ]
    assert got == [
        (70, 40, Decimal("42.86"), False),
        (60, None, None, None),
        (50, 25, Decimal("50.00"), True),
        (None, 20, None, None),
    ]


def test_rapid_relief_post_value_must_precede_the_next_dose():
    window = RapidReliefWindow(
        hours_after=timedelta(hours=24), tolerance=timedelta(hours=2), pre_dose_within=timedelta(hours=1)
    )
    definition = replace(VAS, rapid_relief=window)
    doses = [FIRST_DOSE, FIRST_DOSE + timedelta(hours=23)]
    points = [m(0, 70), m(23.5 / 24, 30)]  # 23.5 h after dose 1 but after dose 2
    first, second = rapid_relief(points, dose_times=doses, definition=definition)
    assert first.post is None
    assert second.post is None  # only 0.5 h after dose 2, outside 24 h +/- 2 h


def test_rapid_relief_needs_a_window():
    with pytest.raises(ValueError, match="phq-9"):
        rapid_relief([], dose_times=[FIRST_DOSE], definition=PHQ9)


# --- relapse after a series ------------------------------------------------------------------------------------
# PHQ-9, baseline 20, so "responder" means total <= 10. Last dose of the series at day 0. Default rule: loss of
# response on 2 consecutive measurements, end-of-series assessment within 7 days of the last dose.
#   case                       measurements (day: total)                        status      days
#   A relapse                  1:8 7:9 14:12 21:10 28:11 35:13                  relapsed    28 (14 reset by 21)
#   B unconfirmed at the end   1:8 7:9 14:12 21:10 28:11                        censored    28
#   C non-responder at end     1:12 7:8                                         not well    —
#   D no assessment in 7 days  8:8 14:9                                         no assess.  —
#   E one measurement is enough (consecutive = 1)  same as A                    relapsed    14
#   F follow-up ends at day 20 same as A                                        censored    14
#   G still well                1:8 30:6 60:10                                   censored    60
SERIES_END = FIRST_DOSE
BASELINE = m(-30, 20)
CASE_A = [m(1, 8), m(7, 9), m(14, 12), m(21, 10), m(28, 11), m(35, 13)]

RELAPSE_TABLE = [
    ("A", CASE_A, PHQ9, None, RelapseStatus.RELAPSED, 28.0),
    ("B", CASE_A[:-1], PHQ9, None, RelapseStatus.CENSORED, 28.0),
    ("C", [m(1, 12), m(7, 8)], PHQ9, None, RelapseStatus.NOT_WELL_AT_END_OF_SERIES, None),
    ("D", [m(8, 8), m(14, 9)], PHQ9, None, RelapseStatus.NO_END_OF_SERIES_ASSESSMENT, None),
    (
        "E",
        CASE_A,
        replace(PHQ9, relapse=RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE, consecutive=1)),
        None,
        RelapseStatus.RELAPSED,
        14.0,
    ),
    ("F", CASE_A, PHQ9, SERIES_END + timedelta(days=20), RelapseStatus.CENSORED, 14.0),
    ("G", [m(1, 8), m(30, 6), m(60, 10)], PHQ9, None, RelapseStatus.CENSORED, 60.0),
]


@pytest.mark.parametrize(
    ("case", "points", "definition", "follow_up_end", "status", "days"),
    RELAPSE_TABLE,
    ids=[row[0] for row in RELAPSE_TABLE],
)
def test_relapse_matches_hand_worked_table(case, points, definition, follow_up_end, status, days):
    outcome = relapse_after_series(
        points, baseline=BASELINE, last_dose_at=SERIES_END, definition=definition, follow_up_end=follow_up_end
    )
    assert (outcome.status, outcome.days) == (status, days)


def test_relapse_time_to_event_feeds_kaplan_meier():
    relapsed = relapse_after_series(CASE_A, baseline=BASELINE, last_dose_at=SERIES_END, definition=PHQ9)
    assert relapsed.time_to_event() == TimeToEvent(days=28.0, event=True)
    assert relapsed.index_at == SERIES_END + timedelta(days=1)
    assert relapsed.onset_at == SERIES_END + timedelta(days=28)
    censored = relapse_after_series(CASE_A[:-1], baseline=BASELINE, last_dose_at=SERIES_END, definition=PHQ9)
    assert censored.time_to_event() == TimeToEvent(days=28.0, event=False)
    not_at_risk = relapse_after_series([m(1, 12)], baseline=BASELINE, last_dose_at=SERIES_END, definition=PHQ9)
    assert not_at_risk.time_to_event() is None


# Loss of remission (total > 4) vs rise to >= 50 % of baseline (total >= 10): day 7 has total 10, which is still a
# responder (exactly 50 % reduction) but already counts under the percentage-of-baseline rule.
#   measurements  1:3  7:10  14:4  21:6  28:7
#   loss of remission x2         -> relapse at day 21 (7 alone is reset by 14)
#   pct of baseline 50 % x1      -> relapse at day 7
#   loss of response x1          -> censored at day 28 (10 is a responder; 6, 7 too)
OTHER_RULES = [m(1, 3), m(7, 10), m(14, 4), m(21, 6), m(28, 7)]


@pytest.mark.parametrize(
    ("rule", "status", "days"),
    [
        (RelapseRule(kind=RelapseKind.LOSS_OF_REMISSION, consecutive=2), RelapseStatus.RELAPSED, 21.0),
        (
            RelapseRule(kind=RelapseKind.PCT_OF_BASELINE, pct_of_baseline=Decimal(50), consecutive=1),
            RelapseStatus.RELAPSED,
            7.0,
        ),
        (RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE, consecutive=1), RelapseStatus.CENSORED, 28.0),
    ],
)
def test_relapse_rules_differ_on_the_same_course(rule, status, days):
    outcome = relapse_after_series(
        OTHER_RULES, baseline=BASELINE, last_dose_at=SERIES_END, definition=replace(PHQ9, relapse=rule)
    )
    assert (outcome.status, outcome.days) == (status, days)


# --- properties -----------------------------------------------------------------------------------------------

totals = st.integers(min_value=0, max_value=27)


@settings(max_examples=200, deadline=None)
@given(baseline=st.integers(min_value=1, max_value=27), a=totals, b=totals)
def test_a_lower_total_never_loses_response(baseline, a, b):
    better, worse = min(a, b), max(a, b)
    if is_response(Decimal(baseline), Decimal(worse), PHQ9):
        assert is_response(Decimal(baseline), Decimal(better), PHQ9)


@settings(max_examples=200, deadline=None)
@given(baseline=st.integers(min_value=1, max_value=144), total=st.integers(min_value=0, max_value=144))
def test_strict_response_implies_inclusive_response(baseline, total):
    inclusive = replace(LSAS_SR, response_strict=False)
    if is_response(Decimal(baseline), Decimal(total), LSAS_SR):
        assert is_response(Decimal(baseline), Decimal(total), inclusive)


@settings(max_examples=200, deadline=None)
@given(baseline=st.integers(min_value=10, max_value=27), total=totals)
def test_phq9_remission_from_moderate_baseline_implies_response(baseline, total):
    if is_remission(Decimal(total), PHQ9):
        assert is_response(Decimal(baseline), Decimal(total), PHQ9)


course = st.lists(
    st.tuples(st.integers(min_value=1, max_value=120), totals), min_size=1, max_size=15, unique_by=lambda t: t[0]
)


@settings(max_examples=200, deadline=None)
@given(course=course, baseline=st.integers(min_value=5, max_value=27))
def test_requiring_more_consecutive_measurements_never_relapses_earlier(course, baseline):
    points = [m(day, total) for day, total in course]
    base = m(-1, baseline)
    once = replace(PHQ9, relapse=RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE, consecutive=1))
    one = relapse_after_series(points, baseline=base, last_dose_at=SERIES_END, definition=once)
    two = relapse_after_series(points, baseline=base, last_dose_at=SERIES_END, definition=PHQ9)
    assert one.index_at == two.index_at
    if two.status is RelapseStatus.RELAPSED:
        assert one.status is RelapseStatus.RELAPSED
        assert one.days <= two.days
        assert not is_response(Decimal(baseline), Decimal(dict(course)[int(two.days)]), PHQ9)
    if one.status is RelapseStatus.CENSORED:
        assert two.status is RelapseStatus.CENSORED
        assert one.days == two.days == max(day for day, _ in course)
