"""Course summaries against a hand-worked patient (baseline, endpoint, response, time to response, relapse)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ketacare.outcomes.domain.definitions import DEFAULT_DEFINITIONS
from ketacare.outcomes.domain.summary import (
    AlertFact,
    CourseFacts,
    first_series,
    is_dropout,
    summarize_course,
    whole_days,
)
from ketacare.outcomes.domain.trajectory import Measurement

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # first dose


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


INDUCTION = [day(d) for d in (0, 2, 4, 7, 9, 11)]  # six infusions over 12 days (iv-ketamine.md §2)

# Hand-worked PHQ-9 table (response >= 50 % of baseline 20, i.e. total <= 10; remission <= 4;
# relapse = 2 consecutive non-response values after a responder end-of-series value):
#   day  -2: 20  baseline (within 14 days before the first dose)
#   day   1: 16  20 % better
#   day   4: 12  40 %
#   day   8:  9  55 %  -> first response, 8 days after the first dose
#   day  13:  8  end-of-series assessment (2 days after the last dose, within 7): responder, at risk
#   day  18:  6  endpoint: last value <= last induction dose + 7 days (day 18); change -14; not in remission
#   day  25: 12  40 %, not a response -> run starts (14 days after the last dose)
#   day  32: 14  second in a row -> relapse dated day 25, i.e. 14 days
PHQ9 = [(-2, 20), (1, 16), (4, 12), (8, 9), (13, 8), (18, 6), (25, 12), (32, 14)]


def facts(**changes):
    base = dict(
        doses=INDUCTION,
        measurements={"phq-9": [Measurement(day(d), Decimal(v)) for d, v in PHQ9]},
        induction_planned=6,
        bands={"phq-9": [(Decimal(0), Decimal(4), "minimal"), (Decimal(20), Decimal(27), "severe")]},
    )
    base.update(changes)
    return CourseFacts(**base)


def test_hand_worked_patient():
    summary = summarize_course(facts(), DEFAULT_DEFINITIONS)
    phq = summary.instrument("phq-9")
    assert (phq.baseline, phq.baseline_band, phq.endpoint, phq.change) == (20, "severe", 6, -14)
    assert (phq.response, phq.remission, phq.ever_response) == (True, False, True)
    assert (phq.ttr_days, phq.ttr_event) == (8, True)
    assert (phq.relapse_status, phq.relapse_days, phq.relapse_event) == ("relapsed", 14, True)
    assert (summary.doses, summary.induction_doses, summary.induction_completed) == (6, 6, True)


def test_a_booster_dose_ends_relapse_follow_up_and_censors():
    # A booster on day 20 (before the relapse run): follow-up ends there, censored at the last value (day 18).
    summary = summarize_course(facts(doses=[*INDUCTION, day(20)], induction_doses=INDUCTION), DEFAULT_DEFINITIONS)
    phq = summary.instrument("phq-9")
    assert (phq.relapse_status, phq.relapse_days, phq.relapse_event) == ("censored", 7, False)


def test_without_phase_data_the_first_series_is_found_by_the_gap_rule():
    doses = [*INDUCTION, day(60), day(62)]
    assert first_series(doses) == tuple(INDUCTION)
    assert summarize_course(facts(doses=doses), DEFAULT_DEFINITIONS).induction_doses == 6


def test_no_baseline_in_the_window_means_nothing_is_evaluable():
    late = [Measurement(day(-20), Decimal(20)), Measurement(day(8), Decimal(9))]
    phq = summarize_course(facts(measurements={"phq-9": late}), DEFAULT_DEFINITIONS).instrument("phq-9")
    assert phq.baseline is None and phq.response is None and phq.relapse_days is None
    assert phq.endpoint == 9


def test_early_dropout_keeps_its_last_value_as_endpoint():
    three = INDUCTION[:3]
    summary = summarize_course(facts(doses=three, closed=True), DEFAULT_DEFINITIONS)
    phq = summary.instrument("phq-9")
    # endpoint limit = day 4 + 7 = day 11: the day-8 value (9) -> response
    assert (phq.endpoint, phq.response) == (9, True)
    assert summary.induction_completed is False
    assert summary.dropped_out(day(12)) is True


@pytest.mark.parametrize(
    ("completed", "closed", "days_since_last_dose", "dropout"),
    [(True, True, 100, False), (False, True, 1, True), (False, False, 27, False), (False, False, 29, True)],
)
def test_dropout_rule(completed, closed, days_since_last_dose, dropout):
    assert is_dropout(induction_completed=completed, closed=closed, last_dose_at=day(0),
                      now=day(days_since_last_dose)) is dropout


def test_no_doses_is_never_a_dropout_and_has_no_instruments():
    summary = summarize_course(facts(doses=[]), DEFAULT_DEFINITIONS)
    assert summary.instruments == () and summary.dropped_out(day(100)) is False


def test_whole_days_round_half_up():
    assert [whole_days(x) for x in (6.49, 6.5, 6.96, 0.0)] == [6, 7, 7, 0]


def test_minutes_to_acknowledge_are_whole_minutes():
    assert AlertFact("high", day(0), day(0) + timedelta(seconds=119)).minutes_to_acknowledge == 1
    assert AlertFact("high", day(0)).minutes_to_acknowledge is None


def test_instruments_without_a_definition_are_skipped():
    m = {"cadss-6": [Measurement(day(0.1), Decimal(5))], **facts().measurements}
    assert [i.instrument_key for i in summarize_course(facts(measurements=m), DEFAULT_DEFINITIONS).instruments] == [
        "phq-9"]


def test_side_effect_episodes_from_checklists():
    from ketacare.outcomes.domain.summary import SideEffectFact, side_effect_episodes

    checks = [(day(0) + timedelta(minutes=m), effects) for m, effects in
              [(40, ["nausea", "dissociation"]), (90, ["nausea"]), (120, [])]]
    assert side_effect_episodes(checks) == [SideEffectFact("dissociation", 50), SideEffectFact("nausea", 80)]
    still = [(day(0) + timedelta(minutes=40), ["headache"])]
    assert side_effect_episodes(still) == [SideEffectFact("headache", None)]
    assert side_effect_episodes([]) == []


def test_a_dose_in_a_later_course_ends_relapse_follow_up():
    summary = summarize_course(facts(later_doses=[day(20)]), DEFAULT_DEFINITIONS)
    assert summary.instrument("phq-9").relapse_status == "censored"
