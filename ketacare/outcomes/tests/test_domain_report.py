"""The clinic report from course summaries: hand-worked figures, independent references (statsmodels) on
generated cohorts, and small-cell suppression in the de-identified view."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from ketacare.outcomes.domain.report import MIN_CELL, aggregate, build_report
from ketacare.outcomes.domain.summary import (
    AdverseEventFact,
    AlertFact,
    CourseSummary,
    InstrumentSummary,
    SideEffectFact,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def phq(baseline=20, endpoint=8, *, response=None, remission=None, relapse_days=None, relapse_event=None,
        ttr_days=None, band="severe"):
    change = None if endpoint is None or baseline is None else Decimal(endpoint - baseline)
    if response is None and endpoint is not None and baseline:
        response = endpoint * 2 <= baseline
    if remission is None and endpoint is not None:
        remission = endpoint <= 4
    return InstrumentSummary(
        instrument_key="phq-9", baseline=None if baseline is None else Decimal(baseline), baseline_band=band,
        endpoint=None if endpoint is None else Decimal(endpoint), change=change, response=response,
        remission=remission, ever_response=ttr_days is not None, ttr_days=ttr_days,
        ttr_event=None if ttr_days is None else True, relapse_status="relapsed" if relapse_event else "censored",
        relapse_days=relapse_days, relapse_event=relapse_event,
    )  # fmt: skip


def course(*instruments, doses=6, completed=True, closed=False, last_dose_days_ago=2, side_effects=(),
           adverse_events=(), alerts=(), sessions_with_side_effects=0):
    last = NOW - timedelta(days=last_dose_days_ago)
    return CourseSummary(
        first_dose_at=last - timedelta(days=11) if doses else None, last_dose_at=last if doses else None,
        doses=doses, induction_doses=doses, induction_completed=completed, closed=closed,
        instruments=tuple(instruments), sessions_with_side_effects=sessions_with_side_effects,
        side_effects=tuple(side_effects), adverse_events=tuple(adverse_events), alerts=tuple(alerts),
    )  # fmt: skip


def hand_cohort():
    """24 patients: 14 responders (endpoint 8), 10 non-responders (endpoint 16), baseline 20 for all; 4 of the
    responders remit (endpoint 3). 3 dropouts. Nausea in 12 patients (30 min each), 2 serious AEs."""
    courses = []
    for n in range(24):
        if n < 4:
            endpoint = 3
        elif n < 14:
            endpoint = 8
        else:
            endpoint = 16
        courses.append(course(
            phq(20, endpoint, relapse_days=10 + n, relapse_event=n % 2 == 0, ttr_days=8 if endpoint <= 10 else None),
            completed=n >= 3, closed=n < 3, doses=6 if n >= 3 else 2,
            side_effects=[SideEffectFact("nausea", 30)] if n < 12 else [],
            sessions_with_side_effects=1 if n < 12 else 0,
            adverse_events=[AdverseEventFact(serious=True, minutes=60)] if n in (0, 1) else [],
            alerts=[AlertFact("high", NOW, NOW + timedelta(minutes=n))] if n < 12 else [],
        ))  # fmt: skip
    return courses


def test_hand_worked_cohort_identified():
    report = build_report(aggregate(hand_cohort(), now=NOW), deidentified=False)
    assert (report.patients, report.treated, report.doses) == (24, 24, 21 * 6 + 3 * 2)
    i = report.instruments[0]
    assert (i.response.numerator, i.response.denominator) == (14, 24)
    assert (i.remission.numerator, i.remission.denominator) == (4, 24)
    assert i.baseline.mean == 20 and i.baseline.sd == 0
    # change: 4 x -17, 10 x -12, 10 x -4 -> mean = -228/24 = -9.5
    assert i.change.mean == pytest.approx(-9.5)
    assert i.response.low == pytest.approx(proportion_confint(14, 24, method="wilson")[0], abs=1e-12)
    assert i.time_to_response.quartiles.median == 8
    assert i.bands == (("severe", 24),)
    assert (report.dropout.numerator, report.dropout.denominator) == (3, 24)
    assert report.side_effects[0].label == "nausea" and report.side_effects[0].patients.numerator == 12
    assert report.side_effects[0].minutes.mean == 30
    assert report.serious_adverse_events.patients.numerator == 2
    # alerts acknowledged after 0..11 minutes -> median 5.5, quartiles 2.75 / 8.25 (type 7)
    alert = report.alerts[0]
    assert (alert.alerts, alert.acknowledged) == (12, 12)
    assert (alert.ack_minutes.quartiles.q1, alert.ack_minutes.quartiles.median, alert.ack_minutes.quartiles.q3) == (
        2.75, 5.5, 8.25)
    assert report.sessions_with_side_effects.rate == pytest.approx(12 / 132)


def test_hand_worked_cohort_deidentified_hides_the_small_cells():
    report = build_report(aggregate(hand_cohort(), now=NOW), deidentified=True)
    i = report.instruments[0]
    assert report.patients == 24
    # 24 - 14 = 10 non-responders: the complement is < 11, so the 14 is withheld too (24 - 14 would give the 10 away).
    assert i.response.numerator == "withheld" and i.response.denominator == 24 and i.response.rate is None
    # Days to first response are the responders' figures: withheld with their rate (issue 15, point 11).
    assert i.time_to_response.n == "withheld" and i.time_to_response.quartiles is None
    assert i.remission.numerator == "<11" and i.remission.rate is None and i.remission.low is None
    assert report.dropout.numerator == "<11" and report.dropout.rate is None
    assert report.serious_adverse_events.patients.numerator == "<11"
    assert report.serious_adverse_events.episodes == "<11" and report.serious_adverse_events.minutes.mean is None
    assert report.side_effects[0].patients.numerator == 12 and report.side_effects[0].patients.rate is not None
    assert i.change.mean == pytest.approx(-9.5)  # 24 contribute


def _generated_cohort(seed, n):
    rng = random.Random(seed)
    courses = []
    for _ in range(n):
        baseline = rng.randint(10, 27)
        endpoint = max(0, baseline - rng.randint(-3, 20))
        days = rng.randint(1, 90)
        courses.append(course(phq(baseline, endpoint, relapse_days=days, relapse_event=rng.random() < 0.55,
                                  ttr_days=rng.randint(1, 30) if endpoint * 2 <= baseline else None,
                                  band=rng.choice(["mild", "moderate", "severe"]))))
    return courses


@pytest.mark.parametrize("seed", range(5))
def test_report_matches_statsmodels_on_generated_cohorts(seed):
    courses = _generated_cohort(seed, 400)
    report = build_report(aggregate(courses, now=NOW), deidentified=False)
    i = report.instruments[0]
    rows = [c.instruments[0] for c in courses]
    k = sum(r.response for r in rows)
    assert (i.response.low, i.response.high) == pytest.approx(proportion_confint(k, 400, method="wilson"), abs=1e-12)
    changes = [float(r.change) for r in rows]
    low, high = DescrStatsW(np.array(changes)).tconfint_mean()
    assert (i.change.low, i.change.high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    sf = SurvfuncRight(np.array([r.relapse_days for r in rows], dtype=float),
                       np.array([r.relapse_event for r in rows], dtype=int))
    assert [s.time for s in i.relapse.steps] == pytest.approx(list(sf.surv_times))
    assert [s.survival for s in i.relapse.steps] == pytest.approx(list(sf.surv_prob), abs=1e-12)
    # Greenwood standard errors, through the log(-log) interval: S ** exp(+-z se / (S |log S|)).
    for step, s, se in zip(i.relapse.steps, sf.surv_prob, sf.surv_prob_se, strict=True):
        if 0 < s < 1 and step.ci_low is not None:
            spread = 1.959963984540054 * se / (s * abs(np.log(s)))
            assert (step.ci_low, step.ci_high) == (pytest.approx(s ** np.exp(spread), abs=1e-9),
                                                   pytest.approx(s ** np.exp(-spread), abs=1e-9))


def _walk(value):
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield f.name, getattr(value, f.name)
            yield from _walk(getattr(value, f.name))
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _walk(v)


COUNT_FIELDS = {"patients", "treated", "numerator", "denominator", "n", "events", "alerts", "acknowledged", "episodes"}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 40))
def test_deidentified_report_never_shows_a_count_below_the_cell_size(seed, n):
    rng = random.Random(seed)
    courses = []
    for c in _generated_cohort(seed, n):
        courses.append(dataclasses.replace(
            c, side_effects=tuple(SideEffectFact(rng.choice(["nausea", "dizziness"]), rng.randint(5, 90))
                                  for _ in range(rng.randint(0, 2))),
            alerts=tuple(AlertFact(rng.choice(["high", "low"]), NOW, NOW + timedelta(minutes=rng.randint(0, 99)))
                         for _ in range(rng.randint(0, 1))),
            closed=rng.random() < 0.2, induction_completed=rng.random() < 0.7))
    report = build_report(aggregate(courses, now=NOW), deidentified=True)
    for name, value in _walk(report):
        if name in COUNT_FIELDS and isinstance(value, int):
            assert value >= MIN_CELL, (name, value)
        if name == "bands":
            assert all(not isinstance(c, int) or c >= MIN_CELL for _, c in value)
        if name == "steps":
            assert all(s.at_risk >= MIN_CELL for s in value)
    for i in report.instruments:
        for rate in (i.response, i.remission):
            if rate.rate is not None:
                assert rate.numerator >= MIN_CELL and rate.denominator - rate.numerator >= MIN_CELL


def test_kaplan_meier_is_cut_where_fewer_than_eleven_remain_at_risk():
    courses = [course(phq(relapse_days=d, relapse_event=True)) for d in range(1, 31)]
    identified = build_report(aggregate(courses, now=NOW), deidentified=False).instruments[0].relapse
    deid = build_report(aggregate(courses, now=NOW), deidentified=True).instruments[0].relapse
    assert len(identified.steps) == 30 and identified.median_days == 15.5
    assert [s.at_risk for s in deid.steps][-1] == 11 and deid.truncated
    assert deid.median_days == 15.5  # reached while 16 were still at risk


def test_band_distribution_with_one_hidden_cell_hides_another():
    courses = ([course(phq(band="severe"))] * 30 + [course(phq(band="moderate"))] * 15
               + [course(phq(band="mild"))] * 3)
    bands = dict(build_report(aggregate(courses, now=NOW), deidentified=True,
                              band_order={"phq-9": ["mild", "moderate", "severe"]}).instruments[0].bands)
    assert bands == {"mild": "<11", "moderate": "<11", "severe": 30}


def test_an_empty_cohort_reports_nothing_and_does_not_fail():
    for deidentified in (True, False):
        report = build_report(aggregate([], now=NOW), deidentified=deidentified)
        assert report.instruments == () and report.dropout.rate is None


def test_alert_times_from_few_patients_are_withheld_even_with_many_alerts():
    courses = [course(phq(), alerts=[AlertFact("high", NOW, NOW + timedelta(minutes=m)) for m in range(3)])
               for _ in range(5)] + [course(phq()) for _ in range(20)]
    alert = build_report(aggregate(courses, now=NOW), deidentified=True).alerts[0]
    assert alert.alerts == "<11" and alert.ack_minutes.quartiles is None
    shown = build_report(aggregate(courses, now=NOW), deidentified=False).alerts[0]
    assert shown.alerts == 15 and shown.ack_minutes.quartiles.median == 1
