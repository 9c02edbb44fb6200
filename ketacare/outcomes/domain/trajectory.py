"""One patient's outcome trajectory on one instrument: baseline, change, response, remission, time to response,
rapid relief per session and relapse after a series.

Source: docs/domain/instruments.md §1.2 and §3 (response is a percentage reduction from baseline, remission a
total at or below a cut-off), §13.5 (thresholds are configuration: see definitions.py);
docs/domain/evidence.md §1 (Taylor 2018 rating 3 h after the infusion), §6 (pre-dose and hours-after windows);
docs/domain/iv-ketamine.md §2 (Murrough 2013: "4-hour response" flag; relapse clock starts at the last infusion
of the series; median 18 days to relapse).

Conventions: totals are Decimal (ints are accepted); comparisons against percentage thresholds are done by exact
cross-multiplication, so a 35.0 % reduction is never mistaken for 35.0000001 %. Days are float days of elapsed
time. A measurement taken at the same instant as a dose counts as pre-dose.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from ketacare.outcomes.domain.definitions import Direction, OutcomeDefinition, RelapseKind


@dataclass(frozen=True)
class Measurement:
    at: datetime
    total: Decimal

    def __post_init__(self) -> None:
        # Accept int/str/float totals; a float goes through str so 7.5 stays 7.5, not its binary expansion.
        total = self.total
        object.__setattr__(self, "total", Decimal(str(total)) if isinstance(total, float) else Decimal(total))


@dataclass(frozen=True)
class PointOutcome:
    at: datetime
    total: Decimal
    change: Decimal  # total - baseline, in instrument units (negative = lower total)
    pct_change: Decimal | None  # change / baseline * 100; None when the baseline is 0
    is_response: bool | None  # None when the baseline is 0 (a percentage reduction is undefined)
    is_remission: bool | None  # None when the definition has no remission rule


@dataclass(frozen=True)
class TimeToEvent:
    """Days from the start of the clock to the event, or to the last observation when `event` is False."""

    days: float
    event: bool


@dataclass(frozen=True)
class SessionRelief:
    dose_at: datetime
    pre: Measurement | None
    post: Measurement | None
    improvement_pct: Decimal | None  # reduction from pre to post (positive = better); None if not evaluable
    is_response: bool | None  # the response rule applied with the pre-dose value as baseline


class RelapseStatus(StrEnum):
    RELAPSED = "relapsed"
    CENSORED = "censored"
    NO_END_OF_SERIES_ASSESSMENT = "no_end_of_series_assessment"
    NOT_WELL_AT_END_OF_SERIES = "not_well_at_end_of_series"


@dataclass(frozen=True)
class RelapseOutcome:
    status: RelapseStatus
    days: float | None = None  # from the last dose to relapse onset, or to the last observation if censored
    index_at: datetime | None = None  # the end-of-series assessment
    onset_at: datetime | None = None  # the first measurement of the confirming run

    def time_to_event(self) -> TimeToEvent | None:
        """The Kaplan-Meier input for this patient; None when the patient was never at risk of relapse."""
        if self.days is None:
            return None
        return TimeToEvent(days=self.days, event=self.status is RelapseStatus.RELAPSED)


def _days(start: datetime, end: datetime) -> float:
    return (end - start) / timedelta(days=1)


def _ordered(points: Iterable[Measurement]) -> list[Measurement]:
    return sorted(points, key=lambda m: m.at)


def _severity(total: Decimal, definition: OutcomeDefinition) -> Decimal:
    """The total on a scale where higher is always worse."""
    return total if definition.direction is Direction.LOWER_IS_BETTER else -total


def choose_baseline(
    points: Iterable[Measurement], *, first_dose_at: datetime, definition: OutcomeDefinition
) -> Measurement | None:
    """The last value on or before the first dose, if it is no older than the definition's baseline window."""
    before = [m for m in _ordered(points) if m.at <= first_dose_at]
    if not before or first_dose_at - before[-1].at > definition.baseline_window:
        return None
    return before[-1]


def improvement_pct(baseline_total: Decimal, total: Decimal, definition: OutcomeDefinition) -> Decimal | None:
    """Percentage improvement from baseline (positive = better); None when the baseline is 0."""
    baseline_total, total = Decimal(baseline_total), Decimal(total)
    if baseline_total == 0:
        return None
    improvement = _severity(baseline_total, definition) - _severity(total, definition)
    return improvement * 100 / abs(baseline_total)


def is_response(baseline_total: Decimal, total: Decimal, definition: OutcomeDefinition) -> bool | None:
    """Whether the improvement from baseline meets the response rule; None when the baseline is 0."""
    baseline_total, total = Decimal(baseline_total), Decimal(total)
    if baseline_total == 0:
        return None
    # improvement / |baseline| * 100 (>|>=) pct  <=>  improvement * 100 (>|>=) pct * |baseline|
    lhs = (_severity(baseline_total, definition) - _severity(total, definition)) * 100
    rhs = definition.response_pct_reduction * abs(baseline_total)
    return lhs > rhs if definition.response_strict else lhs >= rhs


def is_remission(total: Decimal, definition: OutcomeDefinition) -> bool | None:
    """Whether the total is within the remission threshold (inclusive); None when the definition has none."""
    if definition.remission_max_total is None:
        return None
    return _severity(Decimal(total), definition) <= _severity(definition.remission_max_total, definition)


def point_outcomes(
    points: Iterable[Measurement], *, baseline: Measurement, definition: OutcomeDefinition
) -> list[PointOutcome]:
    """Change, percentage change, response and remission for every measurement after the baseline."""
    result = []
    for m in _ordered(points):
        if m.at <= baseline.at:
            continue
        change = m.total - baseline.total
        result.append(
            PointOutcome(
                at=m.at,
                total=m.total,
                change=change,
                pct_change=None if baseline.total == 0 else change * 100 / baseline.total,
                is_response=is_response(baseline.total, m.total, definition),
                is_remission=is_remission(m.total, definition),
            )
        )
    return result


def time_to_first_response(
    points: Iterable[Measurement],
    *,
    baseline: Measurement,
    first_dose_at: datetime,
    definition: OutcomeDefinition,
) -> TimeToEvent | None:
    """Days from the first dose to the first measurement meeting the response rule, censored at the last one.

    None when there is no measurement after the first dose or the baseline is 0 (response undefined).
    """
    after = [m for m in _ordered(points) if m.at > first_dose_at]
    if not after or baseline.total == 0:
        return None
    for m in after:
        if is_response(baseline.total, m.total, definition):
            return TimeToEvent(days=_days(first_dose_at, m.at), event=True)
    return TimeToEvent(days=_days(first_dose_at, after[-1].at), event=False)


def rapid_relief(
    points: Iterable[Measurement], *, dose_times: Sequence[datetime], definition: OutcomeDefinition
) -> list[SessionRelief]:
    """For each dose: the last value within the pre-dose window vs the value nearest dose + hours_after.

    The post-dose value must lie within the tolerance of the target time, after the dose and before the next
    dose; on equal distance the earlier value wins. Sessions with a missing value are returned with None fields.
    """
    window = definition.rapid_relief
    if window is None:
        raise ValueError(f"{definition.instrument_key}: no rapid-relief window is defined for this instrument")
    ordered = _ordered(points)
    doses = sorted(dose_times)
    sessions = []
    for i, dose_at in enumerate(doses):
        next_dose_at = doses[i + 1] if i + 1 < len(doses) else None
        pre_candidates = [m for m in ordered if dose_at - window.pre_dose_within <= m.at <= dose_at]
        pre = pre_candidates[-1] if pre_candidates else None
        target = dose_at + window.hours_after
        post_candidates = [
            m
            for m in ordered
            if dose_at < m.at
            and (next_dose_at is None or m.at < next_dose_at)
            and abs(m.at - target) <= window.tolerance
        ]
        post = min(post_candidates, key=lambda m: abs(m.at - target)) if post_candidates else None
        pct: Decimal | None = None
        response: bool | None = None
        if pre is not None and post is not None:
            pct = improvement_pct(pre.total, post.total, definition)
            response = is_response(pre.total, post.total, definition)
        sessions.append(
            SessionRelief(
                dose_at=dose_at,
                pre=pre,
                post=post,
                improvement_pct=pct,
                is_response=response,
            )
        )
    return sessions


def _meets_relapse(total: Decimal, baseline_total: Decimal, definition: OutcomeDefinition) -> bool | None:
    rule = definition.relapse
    if rule.kind is RelapseKind.LOSS_OF_REMISSION:
        remission = is_remission(total, definition)
        return None if remission is None else not remission
    if rule.kind is RelapseKind.LOSS_OF_RESPONSE:
        response = is_response(baseline_total, total, definition)
        return None if response is None else not response
    # PCT_OF_BASELINE: severity back to >= pct % of the baseline severity.
    if rule.pct_of_baseline is None:
        raise ValueError("PCT_OF_BASELINE relapse needs pct_of_baseline")
    return _severity(total, definition) * 100 >= rule.pct_of_baseline * _severity(baseline_total, definition)


def relapse_after_series(
    points: Iterable[Measurement],
    *,
    baseline: Measurement,
    last_dose_at: datetime,
    definition: OutcomeDefinition,
    follow_up_end: datetime | None = None,
) -> RelapseOutcome:
    """Durability: days from the last dose of a series to relapse, or censored at the last observation.

    The end-of-series assessment is the first measurement after the last dose and within the rule's
    `end_of_series_within`; the patient is at risk only if it does not meet the relapse criterion. Relapse is
    the first run of `consecutive` measurements meeting the criterion, dated at the first of them. Measurements
    after `follow_up_end` (e.g. the first dose of a new series) are ignored. An unconfirmed run at the end of
    follow-up is censored at the last measurement.
    """
    rule = definition.relapse
    after = [m for m in _ordered(points) if m.at > last_dose_at and (follow_up_end is None or m.at <= follow_up_end)]
    if not after or after[0].at - last_dose_at > rule.end_of_series_within:
        return RelapseOutcome(status=RelapseStatus.NO_END_OF_SERIES_ASSESSMENT)
    index, follow_up = after[0], after[1:]
    if _meets_relapse(index.total, baseline.total, definition) is not False:
        return RelapseOutcome(status=RelapseStatus.NOT_WELL_AT_END_OF_SERIES, index_at=index.at)
    run: list[Measurement] = []
    for m in follow_up:
        run = [*run, m] if _meets_relapse(m.total, baseline.total, definition) else []
        if len(run) == rule.consecutive:
            return RelapseOutcome(
                status=RelapseStatus.RELAPSED,
                days=_days(last_dose_at, run[0].at),
                index_at=index.at,
                onset_at=run[0].at,
            )
    return RelapseOutcome(status=RelapseStatus.CENSORED, days=_days(last_dose_at, after[-1].at), index_at=index.at)
