"""Cohort statistics against hand-worked values and independent references (statsmodels, scipy, numpy)."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from ketacare.outcomes.domain.stats import (
    Z_95,
    Quartiles,
    kaplan_meier,
    mean_ci,
    median_iqr,
    median_survival,
    regularized_incomplete_beta,
    suppress,
    t_quantile,
    wilson_ci,
)

# --- Wilson ---------------------------------------------------------------------------------------------------


def test_wilson_hand_worked_values():
    # 6 of 18 LSAS responders on ketamine (Taylor 2018, evidence.md §1): p = 1/3.
    # denom = 1 + z²/18 = 1.213414; centre = (1/3 + z²/36) / denom = 0.362648
    # half = z * sqrt((2/9)/18 + z²/1296) / denom = 0.199860  ->  0.16279 .. 0.56251
    low, high = wilson_ci(6, 18)
    assert low == pytest.approx(0.16279, abs=5e-5)
    assert high == pytest.approx(0.56251, abs=5e-5)
    assert wilson_ci(0, 10) == (0.0, pytest.approx(0.27753, abs=5e-5))
    assert wilson_ci(10, 10) == (pytest.approx(0.72247, abs=5e-5), 1.0)


def test_wilson_matches_statsmodels_for_every_k_up_to_n_150():
    for n in range(1, 151):
        for k in range(n + 1):
            ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
            low, high = wilson_ci(k, n)
            assert low == pytest.approx(ref_low, abs=1e-12), (k, n)
            assert high == pytest.approx(ref_high, abs=1e-12), (k, n)


def test_wilson_matches_statsmodels_for_large_cohorts_and_other_levels():
    rng = random.Random(20260302)
    for _ in range(500):
        n = rng.randint(151, 100_000)
        k = rng.choice([0, n, rng.randint(0, n)])
        alpha = rng.choice([0.05, 0.1, 0.01])
        z = scipy_stats.norm.ppf(1 - alpha / 2)
        ref = proportion_confint(k, n, alpha=alpha, method="wilson")
        assert wilson_ci(k, n, z=z) == pytest.approx(ref, abs=1e-12), (k, n, alpha)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, 0)])
def test_wilson_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError):
        wilson_ci(k, n)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=10_000))
def test_wilson_interval_contains_the_rate_and_stays_in_0_1(data, n):
    k = data.draw(st.integers(min_value=0, max_value=n))
    low, high = wilson_ci(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


# --- t distribution and mean CI -------------------------------------------------------------------------------


def test_t_quantile_textbook_values():
    # Student t table: t(0.975; 1) = 12.706, t(0.975; 10) = 2.228, t(0.95; 5) = 2.015, t(0.995; 30) = 2.750
    assert t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-4)
    assert t_quantile(0.95, 5) == pytest.approx(2.0150, abs=1e-4)
    assert t_quantile(0.995, 30) == pytest.approx(2.7500, abs=1e-4)
    assert t_quantile(0.025, 10) == pytest.approx(-2.2281, abs=1e-4)
    assert t_quantile(0.5, 7) == 0.0


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 19, 30, 60, 120, 500, 1000, 10_000])
@pytest.mark.parametrize("p", [0.6, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995, 0.05, 0.001])
def test_t_quantile_matches_scipy(df, p):
    assert t_quantile(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    p=st.floats(min_value=1e-9, max_value=1 - 1e-9),
    df=st.floats(min_value=0.5, max_value=5000),
)
def test_t_quantile_inverts_scipy_cdf(p, df):
    assert scipy_stats.t.cdf(t_quantile(p, df), df) == pytest.approx(p, rel=1e-8, abs=1e-15)


def test_incomplete_beta_matches_scipy():
    from scipy.special import betainc

    rng = random.Random(7)
    for _ in range(2000):
        a, b, x = rng.uniform(0.05, 300), rng.uniform(0.05, 300), rng.random()
        assert regularized_incomplete_beta(a, b, x) == pytest.approx(betainc(a, b, x), abs=1e-12)


def test_mean_ci_hand_worked():
    # PHQ-9 changes -6, -9, -14, -13: mean -10.5, sd = sqrt(41/3) = 3.696846, t(0.975; 3) = 3.182446
    # half width = 3.182446 * 3.696846 / 2 = 5.882506
    result = mean_ci([-6, -9, -14, -13])
    assert (result.n, result.mean) == (4, -10.5)
    assert result.sd == pytest.approx(math.sqrt(41 / 3))
    assert result.low == pytest.approx(-16.382506, abs=1e-6)
    assert result.high == pytest.approx(-4.617494, abs=1e-6)


def test_mean_ci_of_one_value_has_no_interval():
    result = mean_ci([-7])
    assert (result.mean, result.sd, result.low, result.high) == (-7, None, None, None)
    with pytest.raises(ValueError):
        mean_ci([])


def test_mean_ci_matches_statsmodels_on_generated_samples():
    rng = np.random.default_rng(42)
    for _ in range(300):
        n = int(rng.integers(3, 400))  # fewer than 3 values have no interval (MIN_N_FOR_INTERVAL)
        values = rng.normal(loc=rng.uniform(-15, 5), scale=rng.uniform(0.5, 10), size=n).round(1)
        confidence = float(rng.choice([0.9, 0.95, 0.99]))
        ref_low, ref_high = DescrStatsW(values).tconfint_mean(alpha=1 - confidence)
        result = mean_ci(values.tolist(), confidence=confidence)
        assert result.low == pytest.approx(ref_low, rel=1e-9, abs=1e-9)
        assert result.high == pytest.approx(ref_high, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-27, max_value=27), min_size=3, max_size=60).filter(lambda v: len(set(v)) > 1))
def test_mean_ci_contains_the_mean(values):
    result = mean_ci(values)
    assert result.low <= result.mean <= result.high


# --- Kaplan-Meier ---------------------------------------------------------------------------------------------

# Gehan 1965 / Freireich 1963 leukaemia trial, 6-MP arm (weeks in remission, 0 = censored): the classic worked
# Kaplan-Meier example (e.g. Kleinbaum & Klein, Survival Analysis, ch. 2). Survival, Greenwood SE and log-log CI
# to 3 decimals as printed by R survfit(conf.type = "log-log").
GEHAN_6MP = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
GEHAN_6MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
GEHAN_TABLE = [
    # time, at risk, events, survival, se, ci low, ci high
    (6, 21, 3, 0.857, 0.076, 0.620, 0.952),
    (7, 17, 1, 0.807, 0.087, 0.563, 0.923),
    (10, 15, 1, 0.753, 0.096, 0.503, 0.889),
    (13, 12, 1, 0.690, 0.107, 0.432, 0.849),
    (16, 11, 1, 0.627, 0.114, 0.368, 0.805),
    (22, 7, 1, 0.538, 0.128, 0.268, 0.747),
    (23, 6, 1, 0.448, 0.135, 0.188, 0.680),
]


def test_kaplan_meier_reproduces_the_gehan_table():
    steps = kaplan_meier(GEHAN_6MP, [bool(e) for e in GEHAN_6MP_EVENT])
    got = [
        (
            s.time,
            s.at_risk,
            s.events,
            round(s.survival, 3),
            round(s.std_err, 3),
            round(s.ci_low, 3),
            round(s.ci_high, 3),
        )
        for s in steps
    ]
    assert got == GEHAN_TABLE
    assert median_survival(steps) == 23


def test_kaplan_meier_small_hand_worked_cohort_with_ties_and_censoring():
    # days to relapse: 5, 5 (events), 5 (censored), 8 (event), 12 (censored), 20 (event)
    # t=5: at risk 6, 2 events -> S = 4/6;   t=8: at risk 3 -> S = 4/6 * 2/3 = 4/9;   t=20: at risk 1 -> S = 0
    steps = kaplan_meier([5, 5, 5, 8, 12, 20], [True, True, False, True, False, True])
    assert [(s.time, s.at_risk, s.events, s.censored) for s in steps] == [(5, 6, 2, 1), (8, 3, 1, 0), (20, 1, 1, 0)]
    assert [s.survival for s in steps] == [pytest.approx(2 / 3), pytest.approx(4 / 9), 0.0]
    # Greenwood at t=5: S * sqrt(2 / (6 * 4))
    assert steps[0].std_err == pytest.approx(2 / 3 * math.sqrt(2 / 24))
    assert (steps[-1].std_err, steps[-1].ci_low, steps[-1].ci_high) == (None, None, None)
    assert median_survival(steps) == 8


def test_median_survival_uses_the_midpoint_when_the_curve_sits_at_one_half():
    # 4 relapses at 10, 20, 30, 40 days: S = 0.75, 0.5, 0.25, 0 -> median (20 + 30) / 2 = 25 (SAS / R convention)
    steps = kaplan_meier([10, 20, 30, 40], [True] * 4)
    assert median_survival(steps) == 25.0
    # Murrough-style cohort where half relapse and the rest are censored at the end: median not reached.
    steps = kaplan_meier([18, 18, 40, 40], [True, True, False, False])
    assert median_survival(steps) is None
    assert median_survival(kaplan_meier([30, 40], [False, False])) is None


def test_kaplan_meier_all_censored_and_validation():
    assert kaplan_meier([3, 9], [False, False]) == []
    assert kaplan_meier([], []) == []
    with pytest.raises(ValueError):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ValueError):
        kaplan_meier([-1], [True])


def _reference_loglog_ci(sf: SurvfuncRight, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise log(-log S) interval from statsmodels' Greenwood SE, with statsmodels' own cloglog transform
    (g = log(-log S), g' = -1 / (S log S)) used in SurvfuncRight.quantile_ci."""
    s, se = sf.surv_prob, sf.surv_prob_se
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(-np.log(s))
        se_g = np.abs(se / (s * np.log(s)))
        return np.exp(-np.exp(g + z * se_g)), np.exp(-np.exp(g - z * se_g))


def _compare_with_statsmodels(durations: list[float], events: list[bool]) -> None:
    steps = kaplan_meier(durations, events)
    if not any(events):
        assert steps == []
        return
    sf = SurvfuncRight(np.asarray(durations, dtype=float), np.asarray(events, dtype=int))
    low, high = _reference_loglog_ci(sf, Z_95)
    assert [s.time for s in steps] == pytest.approx(sf.surv_times.tolist())
    assert [s.at_risk for s in steps] == sf.n_risk.astype(int).tolist()
    assert [s.events for s in steps] == sf.n_events.astype(int).tolist()
    assert [s.survival for s in steps] == pytest.approx(sf.surv_prob.tolist(), abs=1e-12)
    for i, step in enumerate(steps):
        if np.isfinite(sf.surv_prob_se[i]) and step.std_err is not None and 0 < step.survival < 1:
            assert step.std_err == pytest.approx(sf.surv_prob_se[i], rel=1e-9)
            assert step.ci_low == pytest.approx(low[i], rel=1e-9, abs=1e-12)
            assert step.ci_high == pytest.approx(high[i], rel=1e-9, abs=1e-12)
        else:
            assert step.std_err is None and step.survival == 0.0
    if not any(s.survival == 0.5 for s in steps):
        expected = sf.quantile(0.5)
        assert median_survival(steps) == (None if np.isnan(expected) else pytest.approx(expected))


def test_kaplan_meier_matches_statsmodels_on_generated_cohorts():
    """Relapse-like cohorts: exponential days to relapse (median around the 18 days of Murrough 2013), rounded
    to whole days so ties are common, with random loss to follow-up and administrative censoring at day 90."""
    rng = np.random.default_rng(2013)
    for _ in range(300):
        n = int(rng.integers(1, 250))
        relapse = np.ceil(rng.exponential(scale=18 / math.log(2), size=n))
        dropout = np.ceil(rng.uniform(1, 150, size=n))
        end = np.minimum(np.minimum(relapse, dropout), 90)
        _compare_with_statsmodels(end.tolist(), (relapse <= np.minimum(dropout, 90)).tolist())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=30), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_kaplan_meier_matches_statsmodels_with_heavy_ties(cohort):
    _compare_with_statsmodels([float(d) for d, _ in cohort], [e for _, e in cohort])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=400, allow_nan=False), st.booleans()),
        min_size=1,
        max_size=80,
    )
)
def test_kaplan_meier_curve_is_a_non_increasing_probability_inside_its_interval(cohort):
    steps = kaplan_meier([d for d, _ in cohort], [e for _, e in cohort])
    survival = [1.0] + [s.survival for s in steps]
    assert all(0.0 <= b <= a <= 1.0 for a, b in zip(survival, survival[1:], strict=False))
    assert all(a.time < b.time for a, b in zip(steps, steps[1:], strict=False))
    for s in steps:
        if s.ci_low is not None:
            assert 0.0 <= s.ci_low <= s.survival <= s.ci_high <= 1.0


# --- descriptives and suppression ----------------------------------------------------------------------------


def test_median_iqr_hand_worked():
    # minutes to acknowledge alerts: 2, 4, 7, 15 -> median 5.5, Q1 = 2 + 0.75 * 2 = 3.5, Q3 = 7 + 0.25 * 8 = 9
    assert median_iqr([15, 2, 7, 4]) == Quartiles(median=5.5, q1=3.5, q3=9.0)
    assert median_iqr([12]) == Quartiles(median=12.0, q1=12.0, q3=12.0)
    assert median_iqr([]) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=10_000, allow_nan=False), min_size=1, max_size=100))
def test_median_iqr_matches_numpy_linear_percentiles(values):
    q = median_iqr(values)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    assert (q.q1, q.median, q.q3) == (pytest.approx(q1), pytest.approx(median), pytest.approx(q3))


@pytest.mark.parametrize(
    ("count", "min_cell", "shown"),
    [(0, 11, "<11"), (1, 11, "<11"), (10, 11, "<11"), (11, 11, 11), (250, 11, 250), (4, 5, "<5"), (None, 11, None)],
)
def test_small_cells_are_suppressed(count, min_cell, shown):
    assert suppress(count, min_cell=min_cell) == shown


def test_suppress_rejects_negative_counts():
    with pytest.raises(ValueError):
        suppress(-1)


# --- sufficient statistics (the SQL aggregate path) -----------------------------------------------------------


def test_kaplan_meier_from_a_life_table_equals_the_expanded_estimate():
    from ketacare.outcomes.domain.stats import kaplan_meier_from_counts

    rng = random.Random(7)
    durations = [rng.randint(0, 60) for _ in range(400)]
    events = [rng.random() < 0.6 for _ in durations]
    table: dict[float, list[int]] = {}
    for d, e in zip(durations, events, strict=True):
        table.setdefault(d, [0, 0])[0 if e else 1] += 1
    assert kaplan_meier_from_counts({t: tuple(v) for t, v in table.items()}) == kaplan_meier(durations, events)


def test_mean_ci_from_moments_matches_mean_ci():
    from ketacare.outcomes.domain.stats import mean_ci_from_moments

    rng = random.Random(3)
    for _ in range(200):
        values = [rng.randint(-27, 27) for _ in range(rng.randint(1, 300))]
        ref = mean_ci(values)
        got = mean_ci_from_moments(len(values), sum(values), sum(v * v for v in values))
        assert got.mean == pytest.approx(ref.mean, abs=1e-12)
        if ref.low is None:
            assert got.low is None
        else:
            assert (got.low, got.high) == (pytest.approx(ref.low, abs=1e-9), pytest.approx(ref.high, abs=1e-9))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=200))
def test_quartiles_from_counts_match_numpy_on_the_expanded_values(values):
    from ketacare.outcomes.domain.stats import quartiles_from_counts

    table: dict[int, int] = {}
    for v in values:
        table[v] = table.get(v, 0) + 1
    q = quartiles_from_counts(table)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    assert (q.q1, q.median, q.q3) == (pytest.approx(q1), pytest.approx(median), pytest.approx(q3))
    assert quartiles_from_counts({}) is None


def test_the_patient_summary_median_is_kaplan_meier_with_censoring_evidence_5():
    """evidence.md §5: the patient PDF's "median days to relapse" uses the report's estimator (Kaplan-Meier over
    relapsed and censored series), not the upper middle of the relapsed only, and says when it is not reached."""
    from ketacare.outcomes.domain.stats import relapse_median_days
    from ketacare.outcomes.domain.trajectory import RelapseOutcome, RelapseStatus

    def relapsed(days):
        return RelapseOutcome(RelapseStatus.RELAPSED, days)

    def censored(days):
        return RelapseOutcome(RelapseStatus.CENSORED, days)

    # KM: S(10) = 4/5, S(20) = 3/5, censored at 30, S(40) = 3/10 -> median 40. The old "upper middle of the
    # relapsed" ([10, 20, 40]) would have said 20.
    result = relapse_median_days([relapsed(10), relapsed(20), censored(30), relapsed(40), censored(50)])
    assert result.at_risk == 5 and result.days == 40.0
    not_reached = relapse_median_days([relapsed(10), censored(40), censored(60)])
    assert not_reached.at_risk == 3 and not_reached.days is None
    assert relapse_median_days([RelapseOutcome(RelapseStatus.RELAPSED, None)]).at_risk == 0
