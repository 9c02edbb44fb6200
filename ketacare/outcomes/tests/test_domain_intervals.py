"""Statistics that read right (issue 15, point 11): no interval for a mean of one or two values or of values that
are all equal; an interval never goes below what the quantity can be (minutes, totals); the interval rule holds for
every sample (Hypothesis), from raw values and from SQL-style sufficient statistics alike."""

import pytest
from django.template import Context, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.outcomes.domain.report import WITHHELD, Mean, Median
from ketacare.outcomes.domain.stats import MIN_N_FOR_INTERVAL, Quartiles, mean_ci, mean_ci_from_moments

minutes = st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=80)
scores = st.lists(st.integers(min_value=-27, max_value=27), min_size=1, max_size=80)


def test_one_or_two_values_or_no_spread_have_no_interval():
    for values in ([80], [80, 80], [70, 90], [80, 80, 80, 80]):
        result = mean_ci(values)
        assert (result.low, result.high) == (None, None), values
    assert mean_ci([70, 80, 90]).low is not None  # three values with a spread: an interval


def test_a_duration_interval_never_goes_below_zero():
    # 1, 2 and 60 minutes: mean 21, the t interval would start at about -63 minutes.
    result = mean_ci([1, 2, 60], lower_bound=0.0)
    assert result.low == 0.0 and result.high > result.mean == 21
    assert mean_ci([1, 2, 60]).low < 0  # without the bound (a change score may be negative)
    with pytest.raises(ValueError):
        mean_ci([-1, 2, 3], lower_bound=0.0)


@settings(max_examples=300, deadline=None)
@given(values=scores)
def test_an_interval_exactly_when_there_are_enough_values_with_a_spread(values):
    result = mean_ci(values)
    has_interval = len(values) >= MIN_N_FOR_INTERVAL and len(set(values)) > 1
    assert (result.low is not None) is has_interval and (result.high is not None) is has_interval
    if has_interval:
        assert result.low < result.mean < result.high


@settings(max_examples=300, deadline=None)
@given(values=minutes)
def test_a_bounded_interval_stays_within_the_bound_and_around_the_mean(values):
    result = mean_ci(values, lower_bound=0.0)
    if result.low is not None:
        assert 0.0 <= result.low <= result.mean <= result.high
        unbounded = mean_ci(values)
        assert result.high == unbounded.high and result.low == max(0.0, unbounded.low)


@settings(max_examples=300, deadline=None)
@given(values=minutes)
def test_from_moments_follows_the_same_rule(values):
    ref = mean_ci(values, lower_bound=0.0)
    got = mean_ci_from_moments(len(values), sum(values), sum(v * v for v in values), lower_bound=0.0)
    assert (got.low is None) is (ref.low is None)
    if ref.low is not None:
        assert got.low == pytest.approx(ref.low, abs=1e-9) and got.high == pytest.approx(ref.high, abs=1e-9)


def _render(text: str, **context) -> str:
    return Template("{% load outcomes_tags %}" + text).render(Context(context))


def test_the_pages_print_a_mean_or_median_without_a_range_when_there_is_none():
    assert _render("{{ m|mean_ci }}", m=Mean(2, 80.0, None, None, 0.0)) == "80.0"
    assert _render("{{ m|mean_ci }}", m=Mean(3, 21.0, 0.0, 104.7, 33.6)) == "21.0 (0.0 to 104.7)"
    assert _render("{{ m|quartiles }}", m=Median(2, Quartiles(8.0, 6.0, 10.0))) == "8"
    assert _render("{{ m|quartiles }}", m=Median(12, Quartiles(8.0, 8.0, 8.0))) == "8"
    assert _render("{{ m|quartiles }}", m=Median(12, Quartiles(8.0, 6.0, 10.0))) == "8 (IQR 6–10)"
    assert _render("{{ m|quartiles }}", m=Median(WITHHELD, None)) == "withheld"
