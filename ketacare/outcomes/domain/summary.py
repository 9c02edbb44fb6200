"""One course of treatment summarised for the clinic report: per instrument baseline, end-of-induction change,
response, remission, time to first response and relapse after induction; per course doses, side effects, adverse
events, alerts and dropout. The summaries are the rows the cohort report aggregates (report.py).

Source: docs/domain/evidence.md §5-6 (end of induction: Murrough 2013 end of series day 12-13, SPRAVATO week 4;
relapse surveillance after a series, median 18 days), docs/domain/iv-ketamine.md §2 (induction up to 6 infusions
over about 12 days; relapse clock starts at the last infusion of the series); definitions and trajectory rules in
definitions.py and trajectory.py.

Conventions (our choices, documented for the report [U]):
- The induction series is given by the caller (the course's induction-phase doses); without phase data,
  `first_series` splits doses at gaps longer than `SERIES_GAP`.
- The endpoint is the last measurement after the first dose and no later than `end_of_series_within` (7 days by
  default) after the last induction dose: last observation carried forward, so an early dropout keeps its last value.
- Relapse follow-up ends at the first dose after the induction series (a booster or maintenance dose).
- Whole days: elapsed days rounded half up (the report shows days, not hours).
- Dropout: the induction series was not completed (fewer doses than planned) and the course was closed, or no dose
  was given for `DROPOUT_AFTER` days.
"""

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ketacare.outcomes.domain.definitions import OutcomeDefinition
from ketacare.outcomes.domain.trajectory import (
    Measurement,
    RelapseStatus,
    choose_baseline,
    is_remission,
    is_response,
    relapse_after_series,
    time_to_first_response,
)

SERIES_GAP = timedelta(days=21)  # doses further apart start a new series [U: clinic policy]
DROPOUT_AFTER = timedelta(days=28)  # no dose for 4 weeks during induction counts as dropout [U: clinic policy]


def whole_days(days: float) -> int:
    """Elapsed days rounded half up (6.5 -> 7)."""
    return math.floor(days + 0.5)


def first_series(doses: Sequence[datetime], gap: timedelta = SERIES_GAP) -> tuple[datetime, ...]:
    """The first run of doses in which consecutive doses are at most `gap` apart."""
    ordered = sorted(doses)
    series: list[datetime] = []
    for at in ordered:
        if series and at - series[-1] > gap:
            break
        series.append(at)
    return tuple(series)


@dataclass(frozen=True)
class SideEffectFact:
    kind: str
    minutes: int | None = None  # how long it lasted, when recorded


@dataclass(frozen=True)
class AdverseEventFact:
    serious: bool
    minutes: int | None = None


@dataclass(frozen=True)
class AlertFact:
    severity: str
    raised_at: datetime
    acknowledged_at: datetime | None = None

    @property
    def minutes_to_acknowledge(self) -> int | None:
        """Whole minutes (rounded down) from raising to acknowledging; None while open."""
        if self.acknowledged_at is None:
            return None
        return max(0, int((self.acknowledged_at - self.raised_at).total_seconds()) // 60)


def side_effect_episodes(checks: Sequence[tuple[datetime, Collection[str]]]) -> list[SideEffectFact]:
    """Episodes from one session's side-effect checklists: a kind starts at the first check listing it and ends at
    the first later check without it; still present at the last check, its duration is unknown (None)."""
    ordered = sorted(checks, key=lambda c: c[0])
    episodes = []
    open_since: dict[str, datetime] = {}
    for at, effects in ordered:
        present = set(effects)
        for kind in sorted(present - set(open_since)):
            open_since[kind] = at
        for kind in sorted(set(open_since) - present):
            episodes.append(SideEffectFact(kind, int((at - open_since.pop(kind)).total_seconds()) // 60))
    episodes.extend(SideEffectFact(kind, None) for kind in sorted(open_since))
    return episodes


@dataclass(frozen=True)
class CourseFacts:
    """What one course's summary needs, as plain values (selectors build it from the database)."""

    doses: Sequence[datetime]  # one per dosed session
    later_doses: Sequence[datetime] = ()  # doses of the patient's later courses (they end relapse follow-up)
    measurements: Mapping[str, Sequence[Measurement]] = field(default_factory=dict)  # complete totals by key
    induction_doses: Sequence[datetime] | None = None  # None: the first series by the gap rule
    induction_planned: int | None = None  # planned induction sessions; None: unknown (never a dropout)
    closed: bool = False  # the course was ended or discontinued
    sessions_with_side_effects: int = 0
    side_effects: Sequence[SideEffectFact] = ()
    adverse_events: Sequence[AdverseEventFact] = ()
    alerts: Sequence[AlertFact] = ()
    bands: Mapping[str, Sequence[tuple[Decimal, Decimal, str]]] = field(default_factory=dict)  # (low, high, code)


@dataclass(frozen=True)
class InstrumentSummary:
    instrument_key: str
    baseline: Decimal | None
    baseline_band: str
    endpoint: Decimal | None
    change: Decimal | None  # endpoint - baseline
    response: bool | None  # at the endpoint; None when not evaluable (no baseline/endpoint, baseline 0)
    remission: bool | None  # at the endpoint; None when not evaluable or no remission rule
    ever_response: bool | None
    ttr_days: int | None  # time to first response (event) or to the last measurement (censored)
    ttr_event: bool | None
    relapse_status: str | None  # RelapseStatus value; None without a baseline or an induction
    relapse_days: int | None  # days from the last induction dose (event or censoring)
    relapse_event: bool | None

    @property
    def evaluable(self) -> bool:
        return self.baseline is not None and self.endpoint is not None


@dataclass(frozen=True)
class CourseSummary:
    first_dose_at: datetime | None
    last_dose_at: datetime | None
    doses: int
    induction_doses: int
    induction_completed: bool
    closed: bool
    instruments: tuple[InstrumentSummary, ...]
    sessions_with_side_effects: int
    side_effects: tuple[SideEffectFact, ...]
    adverse_events: tuple[AdverseEventFact, ...]
    alerts: tuple[AlertFact, ...]

    def dropped_out(self, now: datetime) -> bool:
        return is_dropout(
            induction_completed=self.induction_completed,
            closed=self.closed,
            last_dose_at=self.last_dose_at,
            now=now,
        )

    def instrument(self, key: str) -> InstrumentSummary | None:
        return next((i for i in self.instruments if i.instrument_key == key), None)


def is_dropout(*, induction_completed: bool, closed: bool, last_dose_at: datetime | None, now: datetime) -> bool:
    """A course that started and left induction unfinished: closed early, or no dose for DROPOUT_AFTER."""
    if induction_completed or last_dose_at is None:
        return False
    return closed or now - last_dose_at > DROPOUT_AFTER


def _band(total: Decimal | None, bands: Sequence[tuple[Decimal, Decimal, str]]) -> str:
    if total is None:
        return ""
    return next((code for low, high, code in bands if low <= total <= high), "")


def summarize_instrument(
    points: Sequence[Measurement],
    *,
    definition: OutcomeDefinition,
    first_dose_at: datetime,
    induction_last_dose_at: datetime,
    next_dose_after_induction_at: datetime | None,
    bands: Sequence[tuple[Decimal, Decimal, str]] = (),
) -> InstrumentSummary:
    baseline = choose_baseline(points, first_dose_at=first_dose_at, definition=definition)
    endpoint_limit = induction_last_dose_at + definition.relapse.end_of_series_within
    after_first = sorted((m for m in points if first_dose_at < m.at <= endpoint_limit), key=lambda m: m.at)
    endpoint = after_first[-1] if after_first else None
    if baseline is None:
        return InstrumentSummary(
            instrument_key=definition.instrument_key, baseline=None, baseline_band="",
            endpoint=endpoint.total if endpoint else None, change=None, response=None, remission=None,
            ever_response=None, ttr_days=None, ttr_event=None, relapse_status=None, relapse_days=None,
            relapse_event=None,
        )  # fmt: skip
    response = remission = None
    change = None
    if endpoint is not None:
        change = endpoint.total - baseline.total
        response = is_response(baseline.total, endpoint.total, definition)
        remission = is_remission(endpoint.total, definition)
    ttr = time_to_first_response(points, baseline=baseline, first_dose_at=first_dose_at, definition=definition)
    relapse = relapse_after_series(
        points,
        baseline=baseline,
        last_dose_at=induction_last_dose_at,
        definition=definition,
        follow_up_end=next_dose_after_induction_at,
    )
    tte = relapse.time_to_event()
    return InstrumentSummary(
        instrument_key=definition.instrument_key,
        baseline=baseline.total,
        baseline_band=_band(baseline.total, bands),
        endpoint=endpoint.total if endpoint else None,
        change=change,
        response=response,
        remission=remission,
        ever_response=None if ttr is None else ttr.event,
        ttr_days=None if ttr is None else whole_days(ttr.days),
        ttr_event=None if ttr is None else ttr.event,
        relapse_status=relapse.status.value,
        relapse_days=None if tte is None else whole_days(tte.days),
        relapse_event=None if tte is None else tte.event,
    )


def summarize_course(facts: CourseFacts, definitions: Mapping[str, OutcomeDefinition]) -> CourseSummary:
    """The course summary; instruments without a definition are skipped."""
    doses = tuple(sorted(facts.doses))
    induction = tuple(sorted(facts.induction_doses)) if facts.induction_doses is not None else first_series(doses)
    instruments: list[InstrumentSummary] = []
    if doses and induction:
        later = sorted(d for d in (*doses, *facts.later_doses) if d > induction[-1])
        for key in sorted(facts.measurements):
            definition = definitions.get(key)
            if definition is None:
                continue
            instruments.append(
                summarize_instrument(
                    facts.measurements[key],
                    definition=definition,
                    first_dose_at=doses[0],
                    induction_last_dose_at=induction[-1],
                    next_dose_after_induction_at=later[0] if later else None,
                    bands=facts.bands.get(key, ()),
                )
            )
    completed = facts.induction_planned is None or len(induction) >= facts.induction_planned
    return CourseSummary(
        first_dose_at=doses[0] if doses else None,
        last_dose_at=doses[-1] if doses else None,
        doses=len(doses),
        induction_doses=len(induction),
        induction_completed=completed,
        closed=facts.closed,
        instruments=tuple(instruments),
        sessions_with_side_effects=facts.sessions_with_side_effects,
        side_effects=tuple(facts.side_effects),
        adverse_events=tuple(facts.adverse_events),
        alerts=tuple(facts.alerts),
    )


__all__ = [
    "AdverseEventFact", "AlertFact", "CourseFacts", "CourseSummary", "InstrumentSummary", "RelapseStatus",
    "SideEffectFact", "first_series", "side_effect_episodes", "is_dropout", "summarize_course",
    "summarize_instrument", "whole_days",
]  # fmt: skip
