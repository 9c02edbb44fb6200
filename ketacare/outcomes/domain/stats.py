"""Cohort statistics for the clinic outcomes report: Wilson intervals, t-based mean intervals, Kaplan-Meier with
Greenwood / log-log intervals, medians and quartiles, small-cell suppression. Pure Python (math, statistics,
fractions); no scipy.

Source: KetaCare issue "Outcomes" (clinic report: rates with 95 % Wilson CIs, mean change with t CI, Kaplan-Meier
time to relapse, median/IQR times); shared/domain/privacy.md §2 (suppress counts < 11 in dashboards [U, CMS
convention, not HIPAA text]); shared/domain/evidence.md §5 (median 18 days to relapse after an IV series, the
figure the Kaplan-Meier median is compared with).
Methods: Wilson 1927 score interval; Student t quantile from the regularized incomplete beta function (DLMF 8.17,
continued fraction evaluated with the modified Lentz method); Kaplan-Meier 1958 with Greenwood's 1926 variance and
the log(-log S) interval (Kalbfleisch & Prentice), as in statsmodels SurvfuncRight and R conf.type="log-log".
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

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


def t_quantile(p: float, df: float) -> float:
    """The p quantile of Student's t with df degrees of freedom (bisection on the exact tail probability)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("need 0 < p < 1 and df > 0")
    if p == 0.5:
        return 0.0
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


@dataclass(frozen=True)
class MeanCI:
    n: int
    mean: float
    sd: float | None  # sample standard deviation (n - 1); None when n < 2
    low: float | None
    high: float | None


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean with a two-sided t-based confidence interval (needs n >= 2 for the interval)."""
    if not values:
        raise ValueError("mean_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return MeanCI(n=n, mean=mean, sd=None, low=None, high=None)
    sd = statistics.stdev(values)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    return MeanCI(n=n, mean=mean, sd=sd, low=mean - half, high=mean + half)


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
    times = sorted(set(durations))
    event_counts = dict.fromkeys(times, 0)
    censor_counts = dict.fromkeys(times, 0)
    for duration, event in zip(durations, events, strict=True):
        if event:
            event_counts[duration] += 1
        else:
            censor_counts[duration] += 1
    steps = []
    at_risk = len(durations)
    survival = Fraction(1)
    greenwood_sum = 0.0
    for time in times:
        d, c = event_counts[time], censor_counts[time]
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


def suppress(count: int | None, min_cell: int = 11) -> int | str | None:
    """A count safe to show: the count itself if >= min_cell, otherwise the label "<11" (for min_cell 11).

    Zero is suppressed too (literal reading of privacy.md §2, "suppress counts < 11"). None passes through as None
    (no data). Derived figures (rates, CIs) of a suppressed count must be withheld by the caller.
    """
    if count is None:
        return None
    if count < 0:
        raise ValueError("count must be non-negative")
    return count if count >= min_cell else f"<{min_cell}"
