"""Cohort statistics for the clinic outcomes report: Wilson intervals, t-based mean intervals, Kaplan-Meier with
Greenwood / log-log intervals, medians and quartiles, small-cell suppression. Pure Python (math, statistics,
fractions); no scipy.

Source: KetaCare issue "Outcomes" (clinic report: rates with 95 % Wilson CIs, mean change with t CI, Kaplan-Meier
time to relapse, median/IQR times); docs/domain/privacy.md §2 (suppress counts < 11 in dashboards [U, CMS
convention, not HIPAA text]); docs/domain/evidence.md §5 (median 18 days to relapse after an IV series, the
figure the Kaplan-Meier median is compared with).
Methods: Wilson 1927 score interval; Student t quantile from the regularized incomplete beta function (DLMF 8.17,
continued fraction evaluated with the modified Lentz method); Kaplan-Meier 1958 with Greenwood's 1926 variance and
the log(-log S) interval (Kalbfleisch & Prentice), as in statsmodels SurvfuncRight and R conf.type="log-log".
"""

import functools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Z_95 = 1.959963984540054  # standard normal 0.975 quantile


def wilson_ci(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n; exactly 0 / 1 at the ends (k == 0 / k == n)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


# --- Student t quantile ---------------------------------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < 1e-16:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def regularized_incomplete_beta(a: float, b: float, x: float, complement: float | None = None) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1.

    `complement` is 1 - x when the caller can compute it without cancellation (x close to 1).
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must be in [0, 1]")
    y = 1.0 - x if complement is None else complement
    if x == 0.0:
        return 0.0
    if y == 0.0:
        return 1.0
    # log1p of the smaller of x and y keeps full precision when the other is close to 1.
    log_x = math.log1p(-y) if x > 0.5 else math.log(x)
    log_y = math.log1p(-x) if y > 0.5 else math.log(y)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * log_x + b * log_y
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, y) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0."""
    t2 = t * t
    return 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t2), complement=t2 / (df + t2))


def _t_density(t: float, df: float) -> float:
    log_norm = math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1.0) / 2.0 * math.log1p(t * t / df))


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The p quantile of Student's t with df degrees of freedom: Newton's method on the exact tail probability,
    started from the Cornish-Fisher expansion around the normal quantile; bisection if Newton does not settle."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("need 0 < p < 1 and df > 0")
    if p == 0.5:
        return 0.0
    tail = min(p, 1.0 - p)
    z = statistics.NormalDist().inv_cdf(1.0 - tail)
    t = z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)
    t = t if t > 0 else z
    for _ in range(60):
        step = (_t_upper_tail(t, df) - tail) / _t_density(t, df)
        following = t + step
        if following <= 0 or not math.isfinite(following):
            break
        t = following
        if abs(step) <= 1e-14 * t:
            return t if p > 0.5 else -t
    return _t_quantile_bisect(p, df)


def _t_quantile_bisect(p: float, df: float) -> float:
    tail = min(p, 1.0 - p)
    low, high = 0.0, 1.0
    while _t_upper_tail(high, df) > tail:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if _t_upper_tail(mid, df) > tail:
            low = mid
        else:
            high = mid
    t = (low + high) / 2.0
    return t if p > 0.5 else -t


# A mean (or median) of fewer values than this is shown without an interval: with one value there is none, and with
# two the t interval (df = 1, t = 12.7) is wider than anything it could say (issue 15, point 11 [U]). A sample whose
# values are all equal has no spread to make an interval from either: "80.0 (80.0 to 80.0)" would claim certainty.
MIN_N_FOR_INTERVAL = 3


@dataclass(frozen=True)
class MeanCI:
    n: int
    mean: float
    sd: float | None  # sample standard deviation (n - 1); None when n < 2
    low: float | None  # None: no interval (fewer than MIN_N_FOR_INTERVAL values, or no spread)
    high: float | None


def _interval(n: int, mean: float, sd: float, confidence: float, lower_bound: float | None) -> MeanCI:
    """The t interval, or none (too few values or no spread); cut at `lower_bound` for a quantity that cannot go
    below it (a duration, a score), so that it never shows an impossible value such as minus 3 minutes."""
    if n < MIN_N_FOR_INTERVAL or sd == 0:
        return MeanCI(n=n, mean=mean, sd=sd, low=None, high=None)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if lower_bound is not None:
        low = max(low, lower_bound)
    return MeanCI(n=n, mean=mean, sd=sd, low=low, high=high)


def mean_ci(values: Sequence[float], confidence: float = 0.95, lower_bound: float | None = None) -> MeanCI:
    """Mean with a two-sided t-based confidence interval (needs MIN_N_FOR_INTERVAL values that are not all equal);
    `lower_bound` cuts the interval at the smallest possible value of the quantity."""
    if not values:
        raise ValueError("mean_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    n = len(values)
    mean = statistics.fmean(values)
    if lower_bound is not None and min(values) < lower_bound:
        raise ValueError(f"a value is below the lower bound {lower_bound}")
    if n < 2:
        return MeanCI(n=n, mean=mean, sd=None, low=None, high=None)
    return _interval(n, mean, statistics.stdev(values), confidence, lower_bound)


def mean_ci_from_moments(n: int, total: float, total_sq: float, confidence: float = 0.95,
                         lower_bound: float | None = None) -> MeanCI:
    """`mean_ci` from sufficient statistics (count, sum, sum of squares), e.g. from a SQL aggregate. Exact for the
    small integer-valued scores and minutes this app aggregates; the variance is clamped at 0 against rounding."""
    if n <= 0:
        raise ValueError("mean_ci_from_moments needs n >= 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    mean = total / n
    if n < 2:
        return MeanCI(n=n, mean=mean, sd=None, low=None, high=None)
    variance = max(0.0, (total_sq - total * total / n) / (n - 1))
    if variance < 1e-12 * max(1.0, mean * mean):  # all values equal, up to rounding of the sums
        variance = 0.0
    return _interval(n, mean, math.sqrt(variance), confidence, lower_bound)


# --- Kaplan-Meier ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KMStep:
    """The curve just after `time`: one step per distinct event time."""

    time: float
    at_risk: int  # still under observation just before `time`
    events: int
    censored: int  # censored at exactly `time` (they count as at risk at `time`)
    survival: float
    std_err: float | None  # Greenwood; None once survival reaches 0
    ci_low: float | None  # log(-log S) interval; None once survival reaches 0
    ci_high: float | None


def kaplan_meier(durations: Sequence[float], events: Sequence[bool], z: float = Z_95) -> list[KMStep]:
    """Kaplan-Meier estimate for right-censored data (event False = censored at that time).

    Ties: events at a time happen before censorings at the same time. Survival is computed exactly with fractions
    and rounded once, so a curve that sits at exactly 0.5 is recognised by `median_survival`.
    """
    if len(durations) != len(events):
        raise ValueError("durations and events must have the same length")
    if any(d < 0 or math.isnan(d) for d in durations):
        raise ValueError("durations must be non-negative numbers")
    table: dict[float, list[int]] = {}
    for duration, event in zip(durations, events, strict=True):
        table.setdefault(duration, [0, 0])[0 if event else 1] += 1
    return kaplan_meier_from_counts({t: (d, c) for t, (d, c) in table.items()}, z=z)


def kaplan_meier_from_counts(table: Mapping[float, tuple[int, int]], z: float = Z_95) -> list[KMStep]:
    """Kaplan-Meier from a life table {time: (events, censored)}, e.g. the result of a SQL GROUP BY; the same
    estimate as `kaplan_meier` on the expanded durations."""
    if any(t < 0 or math.isnan(t) for t in table):
        raise ValueError("durations must be non-negative numbers")
    if any(d < 0 or c < 0 for d, c in table.values()):
        raise ValueError("counts must be non-negative")
    steps = []
    at_risk = sum(d + c for d, c in table.values())
    survival = Fraction(1)
    greenwood_sum = 0.0
    for time in sorted(table):
        d, c = table[time]
        if d:
            survival *= Fraction(at_risk - d, at_risk)
            std_err = ci_low = ci_high = None
            if d < at_risk and survival > 0:
                greenwood_sum += d / (at_risk * (at_risk - d))
                s = float(survival)
                std_err = s * math.sqrt(greenwood_sum)
                spread = z * math.sqrt(greenwood_sum) / abs(math.log(s))
                ci_low, ci_high = s ** math.exp(spread), s ** math.exp(-spread)
            steps.append(
                KMStep(
                    time=time,
                    at_risk=at_risk,
                    events=d,
                    censored=c,
                    survival=float(survival),
                    std_err=std_err,
                    ci_low=ci_low,
                    ci_high=ci_high,
                )
            )
        at_risk -= d + c
    return steps


def median_survival(steps: Sequence[KMStep]) -> float | None:
    """Median time: the first step time with survival below 0.5; if the curve sits at exactly 0.5, the midpoint
    between that step and the next one (SAS LIFETEST / R survfit convention). None when not reached.

    statsmodels' SurvfuncRight.quantile skips the midpoint rule and returns the later step time in that case.
    """
    for i, step in enumerate(steps):
        if step.survival < 0.5:
            return step.time
        if step.survival == 0.5:
            return (step.time + steps[i + 1].time) / 2.0 if i + 1 < len(steps) else None
    return None


# --- Descriptives and suppression -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quartiles:
    median: float
    q1: float
    q3: float


def median_iqr(values: Sequence[float]) -> Quartiles | None:
    """Median and quartiles by linear interpolation between order statistics (Hyndman-Fan type 7, the numpy and
    R default); None for no values."""
    if not values:
        return None
    if len(values) == 1:
        v = float(values[0])
        return Quartiles(median=v, q1=v, q3=v)
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Quartiles(median=float(median), q1=float(q1), q3=float(q3))


def quartiles_from_counts(table: Mapping[float, int]) -> Quartiles | None:
    """`median_iqr` of the values a frequency table {value: count} stands for (Hyndman-Fan type 7), without
    expanding it; None when the table is empty."""
    items = sorted((v, c) for v, c in table.items() if c > 0)
    if any(c < 0 for c in table.values()):
        raise ValueError("counts must be non-negative")
    n = sum(c for _, c in items)
    if n == 0:
        return None

    def order_statistic(k: int) -> float:  # 0-based k-th smallest value
        seen = 0
        for value, count in items:
            seen += count
            if k < seen:
                return float(value)
        raise IndexError(k)

    def quantile(p: float) -> float:
        h = (n - 1) * p
        low = math.floor(h)
        below = order_statistic(low)
        if low + 1 >= n:
            return below
        return below + (h - low) * (order_statistic(low + 1) - below)

    return Quartiles(median=quantile(0.5), q1=quantile(0.25), q3=quantile(0.75))


# The one small-cell rule of every de-identified figure: counts under 11 are suppressed (privacy.md §2 [U, CMS
# convention]); the outcomes report, its exports and the research page's cohort table all use it.
MIN_CELL = 11


def suppress(count: int | None, min_cell: int = MIN_CELL) -> int | str | None:
    """A count safe to show: the count itself if >= min_cell, otherwise the label "<11" (for min_cell 11).

    Zero is suppressed too (literal reading of privacy.md §2, "suppress counts < 11"). None passes through as None
    (no data). Derived figures (rates, CIs) of a suppressed count must be withheld by the caller.
    """
    if count is None:
        return None
    if count < 0:
        raise ValueError("count must be non-negative")
    return count if count >= min_cell else f"<{min_cell}"


@dataclass(frozen=True)
class RelapseMedian:
    at_risk: int  # series with a relapse clock (relapsed or censored)
    days: float | None  # None: not reached (or nobody at risk)


def relapse_median_days(outcomes: Sequence[Any]) -> RelapseMedian:
    """The Kaplan-Meier median days to relapse over relapse outcomes (each with `time_to_event()`), censored series
    included: the same estimator as the clinic report (evidence.md §5), never the middle of the relapsed only."""
    events = [tte for o in outcomes if (tte := o.time_to_event()) is not None]
    if not events:
        return RelapseMedian(0, None)
    steps = kaplan_meier([e.days for e in events], [e.event for e in events])
    return RelapseMedian(len(events), median_survival(steps))
