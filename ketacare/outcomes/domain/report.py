"""The clinic outcomes report: cohort aggregates (sufficient statistics) in, report figures out.

Two steps, so the same figures come from plain rows (tests, small cohorts) and from SQL aggregates (large cohorts):
1. `aggregate(summaries, now)` turns course summaries (summary.py) into a `CohortAggregate`: counts, sums, sums
   of squares, life tables and frequency tables. The selectors build the same aggregate with GROUP BY queries.
2. `build_report(aggregate, deidentified=...)` computes rates with Wilson 95 % intervals, mean change with t
   intervals, Kaplan-Meier time to relapse after induction, side-effect / adverse-event rates and durations, alert
   acknowledgement times and dropout (stats.py), and, for researchers, suppresses small cells.

Unit: one course per patient (the patient's index course), so course counts are patient counts.

Source: KetaCare issue "Outcomes" (report contents); docs/domain/privacy.md §2 (suppress cells < 11 [U, CMS cell
size convention]; Safe Harbor: no names, MRNs, birth dates or exact dates); docs/domain/evidence.md §5 (median
18 days to relapse after an IV series, Murrough 2013: the figure the KM median compares with).

Suppression (de-identified view): every patient count below `min_cell` is shown as "<11"; a proportion is withheld
when its numerator, its complement (denominator - numerator) or its denominator is below `min_cell` (otherwise the
hidden cell could be recovered by subtraction), and when only the complement is small the numerator is withheld too
(shown beside its denominator it would give the complement away); a mean, median or Kaplan-Meier curve is withheld
when fewer than `min_cell` patients contribute, and a Kaplan-Meier curve is cut where fewer than `min_cell` remain
at risk. A band distribution with exactly one hidden cell hides its next smallest cell too (complementary
suppression). A figure derived from a withheld cell is withheld with it, shown as "withheld": days to first
response when the responder rate is withheld, episode minutes when the patients with episodes are hidden.

Intervals: none for fewer than 3 values or no spread (stats.py::MIN_N_FOR_INTERVAL); intervals of quantities that
cannot be negative (totals, minutes) are cut at 0.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ketacare.outcomes.domain.stats import (
    MIN_CELL,
    KMStep,
    MeanCI,
    Quartiles,
    kaplan_meier_from_counts,
    mean_ci_from_moments,
    median_survival,
    quartiles_from_counts,
    wilson_ci,
)
from ketacare.outcomes.domain.summary import CourseSummary

# --- step 1: sufficient statistics ----------------------------------------------------------------------------


@dataclass
class Moments:
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.total_sq += value * value


@dataclass
class InstrumentAggregate:
    key: str
    baseline: Moments = field(default_factory=Moments)  # patients with a baseline
    band_counts: dict[str, int] = field(default_factory=dict)  # baseline band -> patients
    response_n: int = 0  # evaluable for response at the endpoint
    responders: int = 0
    remission_n: int = 0  # evaluable for remission at the endpoint
    remitters: int = 0
    change: Moments = field(default_factory=Moments)  # endpoint - baseline
    ttr_days: dict[int, int] = field(default_factory=dict)  # days to first response -> responders (events only)
    ever_responders: int = 0
    relapse: dict[int, list[int]] = field(default_factory=dict)  # days -> [relapses, censored]


@dataclass
class KindAggregate:
    """One side-effect kind (or adverse events): patients with it, episodes, and episode durations."""

    patients: int = 0
    episodes: int = 0
    minutes: Moments = field(default_factory=Moments)  # episodes with a recorded duration


@dataclass
class AlertAggregate:
    patients: int = 0
    alerts: int = 0
    acknowledged: int = 0
    ack_minutes: dict[int, int] = field(default_factory=dict)  # whole minutes -> acknowledged alerts


@dataclass
class CohortAggregate:
    patients: int = 0  # courses in the cohort (one per patient)
    treated: int = 0  # with at least one dose
    doses: int = 0
    dropouts: int = 0
    sessions_with_side_effects: int = 0
    instruments: dict[str, InstrumentAggregate] = field(default_factory=dict)
    side_effects: dict[str, KindAggregate] = field(default_factory=dict)
    adverse_events: KindAggregate = field(default_factory=KindAggregate)
    serious_adverse_events: KindAggregate = field(default_factory=KindAggregate)
    alerts: dict[str, AlertAggregate] = field(default_factory=dict)


def aggregate(summaries: Iterable[CourseSummary], *, now: datetime) -> CohortAggregate:
    """Sufficient statistics of a cohort of course summaries (one per patient)."""
    agg = CohortAggregate()
    for s in summaries:
        agg.patients += 1
        agg.doses += s.doses
        agg.sessions_with_side_effects += s.sessions_with_side_effects
        if s.doses:
            agg.treated += 1
        if s.dropped_out(now):
            agg.dropouts += 1
        for i in s.instruments:
            ia = agg.instruments.setdefault(i.instrument_key, InstrumentAggregate(i.instrument_key))
            if i.baseline is None:
                continue
            ia.baseline.add(float(i.baseline))
            if i.baseline_band:
                ia.band_counts[i.baseline_band] = ia.band_counts.get(i.baseline_band, 0) + 1
            if i.response is not None:
                ia.response_n += 1
                ia.responders += i.response
            if i.remission is not None:
                ia.remission_n += 1
                ia.remitters += i.remission
            if i.change is not None:
                ia.change.add(float(i.change))
            if i.ttr_event and i.ttr_days is not None:
                ia.ever_responders += 1
                ia.ttr_days[i.ttr_days] = ia.ttr_days.get(i.ttr_days, 0) + 1
            if i.relapse_days is not None:
                cell = ia.relapse.setdefault(i.relapse_days, [0, 0])
                cell[0 if i.relapse_event else 1] += 1
        kinds_seen: set[str] = set()
        for e in s.side_effects:
            ka = agg.side_effects.setdefault(e.kind, KindAggregate())
            ka.episodes += 1
            if e.minutes is not None:
                ka.minutes.add(e.minutes)
            if e.kind not in kinds_seen:
                ka.patients += 1
                kinds_seen.add(e.kind)
        for target, events in ((agg.adverse_events, s.adverse_events),
                               (agg.serious_adverse_events, [e for e in s.adverse_events if e.serious])):
            if events:
                target.patients += 1
            for ae in events:
                target.episodes += 1
                if ae.minutes is not None:
                    target.minutes.add(ae.minutes)
        severities_seen: set[str] = set()
        for a in s.alerts:
            aa = agg.alerts.setdefault(a.severity, AlertAggregate())
            aa.alerts += 1
            if a.severity not in severities_seen:
                aa.patients += 1
                severities_seen.add(a.severity)
            minutes = a.minutes_to_acknowledge
            if minutes is not None:
                aa.acknowledged += 1
                aa.ack_minutes[minutes] = aa.ack_minutes.get(minutes, 0) + 1
    return agg


# --- step 2: figures ------------------------------------------------------------------------------------------

Count = int | str  # a count, or "<11" when suppressed, or WITHHELD when derived from a suppressed cell
WITHHELD = "withheld"


@dataclass(frozen=True)
class Rate:
    numerator: Count
    denominator: Count
    rate: float | None  # None: withheld or no denominator
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Mean:
    n: Count
    mean: float | None
    low: float | None
    high: float | None
    sd: float | None


@dataclass(frozen=True)
class Median:
    n: Count
    quartiles: Quartiles | None


@dataclass(frozen=True)
class CurvePoint:
    """One Kaplan-Meier step as shown: no per-step event counts (one event is one patient)."""

    time: float
    at_risk: int
    survival: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class KMCurve:
    n: Count  # at risk at time 0
    events: Count
    steps: tuple[CurvePoint, ...]  # cut where fewer than min_cell remain at risk (de-identified)
    median_days: float | None
    truncated: bool


@dataclass(frozen=True)
class InstrumentReport:
    key: str
    baseline: Mean
    bands: tuple[tuple[str, Count], ...]
    response: Rate
    remission: Rate
    change: Mean
    time_to_response: Median  # among patients who responded
    relapse: KMCurve


@dataclass(frozen=True)
class KindReport:
    label: str
    patients: Rate  # patients with it / treated patients
    episodes: Count
    minutes: Mean


@dataclass(frozen=True)
class AlertReport:
    severity: str
    patients: Rate
    alerts: Count
    acknowledged: Count
    ack_minutes: Median


@dataclass(frozen=True)
class CohortReport:
    deidentified: bool
    min_cell: int
    patients: Count
    treated: Count
    doses: Count
    dropout: Rate
    sessions_with_side_effects: Rate  # of dosed sessions
    instruments: tuple[InstrumentReport, ...]
    side_effects: tuple[KindReport, ...]
    adverse_events: KindReport
    serious_adverse_events: KindReport
    alerts: tuple[AlertReport, ...]


class _Policy:
    def __init__(self, deidentified: bool, min_cell: int) -> None:
        self.on, self.min_cell = deidentified, min_cell

    def hidden(self, n: int) -> bool:
        return self.on and n < self.min_cell

    def count(self, n: int) -> Count:
        return f"<{self.min_cell}" if self.hidden(n) else n

    def rate(self, k: int, n: int) -> Rate:
        if n == 0:
            return Rate(self.count(k), self.count(n), None, None, None)
        if self.hidden(n - k) and not self.hidden(k) and not self.hidden(n):
            # The numerator beside its denominator would give the small complement away by subtraction.
            return Rate(WITHHELD, n, None, None, None)
        if self.hidden(k) or self.hidden(n - k) or self.hidden(n):
            return Rate(self.count(k), self.count(n), None, None, None)
        low, high = wilson_ci(k, n)
        return Rate(k, n, k / n, low, high)

    def mean(self, m, lower_bound: float | None = None) -> Mean:
        if m.n == 0 or self.hidden(m.n):
            return Mean(self.count(m.n), None, None, None, None)
        ci: MeanCI = mean_ci_from_moments(m.n, m.total, m.total_sq, lower_bound=lower_bound)
        return Mean(m.n, ci.mean, ci.low, ci.high, ci.sd)

    def withheld(self, rate: Rate) -> bool:
        """A rate of the de-identified view withheld for a small cell (its numerator, complement or denominator):
        every figure computed from the same patients is withheld with it."""
        return self.on and rate.rate is None and rate.denominator not in (0, None)

    @staticmethod
    def withheld_label() -> str:
        return WITHHELD

    def median(self, table: Mapping[int, int]) -> Median:
        n = sum(table.values())
        if n == 0 or self.hidden(n):
            return Median(self.count(n), None)
        return Median(n, quartiles_from_counts({float(days): k for days, k in table.items()}))

    def bands(self, counts: Mapping[str, int], order: Iterable[str]) -> tuple[tuple[str, Count], ...]:
        keys = [k for k in order if k in counts] + sorted(set(counts) - set(order))
        hidden = {k for k in keys if self.hidden(counts[k])}
        if len(hidden) == 1 and len(keys) > 1:
            shown = sorted((counts[k], k) for k in keys if k not in hidden)
            hidden.add(shown[0][1])
        return tuple((k, f"<{self.min_cell}" if k in hidden else counts[k]) for k in keys)

    def km(self, table: Mapping[int, list[int]] | Mapping[int, tuple[int, int]]) -> KMCurve:
        n = sum(d + c for d, c in table.values())
        events = sum(d for d, _ in table.values())
        if n == 0 or self.hidden(n):
            return KMCurve(self.count(n), self.count(events), (), None, False)
        steps: list[KMStep] = kaplan_meier_from_counts({float(t): (d, c) for t, (d, c) in table.items()})
        median = median_survival(steps)
        truncated = False
        if self.on:
            kept = [s for s in steps if s.at_risk >= self.min_cell]
            truncated = len(kept) < len(steps)
            steps = kept
            if median is not None and (not steps or median > steps[-1].time):
                median = None  # reached only in the suppressed tail
        points = tuple(CurvePoint(s.time, s.at_risk, s.survival, s.ci_low, s.ci_high) for s in steps)
        return KMCurve(n, self.count(events), points, median, truncated)


def build_report(
    agg: CohortAggregate,
    *,
    deidentified: bool,
    min_cell: int = MIN_CELL,
    band_order: Mapping[str, Iterable[str]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> CohortReport:
    """The report figures; `deidentified` applies the small-cell rules described in the module docstring."""
    p = _Policy(deidentified, min_cell)
    labels = labels or {}
    def instrument(key: str, ia) -> InstrumentReport:
        response = p.rate(ia.responders, ia.response_n)
        # Days to first response are the responders' own figures: withheld whenever the responder count is.
        ttr = Median(p.withheld_label(), None) if p.withheld(response) else p.median(ia.ttr_days)
        return InstrumentReport(
            key=key,
            baseline=p.mean(ia.baseline, lower_bound=0.0),  # totals are never negative
            bands=p.bands(ia.band_counts, (band_order or {}).get(key, ())),
            response=response,
            remission=p.rate(ia.remitters, ia.remission_n),
            change=p.mean(ia.change),
            time_to_response=ttr,
            relapse=p.km(ia.relapse),
        )

    instruments = tuple(instrument(key, ia) for key, ia in sorted(agg.instruments.items()))

    def kind(label: str, ka: KindAggregate) -> KindReport:
        patients = p.rate(ka.patients, agg.treated)
        # Minutes are the affected patients' episodes: withheld with their count; a duration is never below 0.
        minutes = (Mean(p.withheld_label(), None, None, None, None) if p.hidden(ka.patients)
                   else p.mean(ka.minutes, lower_bound=0.0))
        return KindReport(labels.get(label, label), patients, _episodes(p, ka), minutes)

    return CohortReport(
        deidentified=deidentified,
        min_cell=min_cell,
        patients=p.count(agg.patients),
        treated=p.count(agg.treated),
        doses=p.count(agg.treated) if p.hidden(agg.treated) else agg.doses,
        dropout=p.rate(agg.dropouts, agg.treated),
        sessions_with_side_effects=_session_rate(p, agg),
        instruments=instruments,
        side_effects=tuple(kind(k, v) for k, v in sorted(agg.side_effects.items(), key=lambda kv: -kv[1].patients)),
        adverse_events=kind("adverse events", agg.adverse_events),
        serious_adverse_events=kind("serious adverse events", agg.serious_adverse_events),
        alerts=tuple(
            AlertReport(
                severity=severity,
                patients=p.rate(a.patients, agg.treated),
                alerts=_alert_count(p, a),
                acknowledged=_alert_count(p, a, acknowledged=True),
                ack_minutes=(Median(p.count(a.patients), None) if p.hidden(a.patients)
                             else p.median(a.ack_minutes)),
            )
            for severity, a in agg.alerts.items()
        ),
    )


def _episodes(p: _Policy, ka: KindAggregate) -> Count:
    """Episodes (or alerts) are events, not people; they are shown only when enough patients contribute."""
    return p.count(ka.patients) if p.hidden(ka.patients) else ka.episodes


def _alert_count(p: _Policy, a: AlertAggregate, acknowledged: bool = False) -> Count:
    if p.hidden(a.patients):
        return p.count(a.patients)
    return a.acknowledged if acknowledged else a.alerts


def _session_rate(p: _Policy, agg: CohortAggregate) -> Rate:
    """Share of dosed sessions with any side effect. Sessions of one patient are not independent, so no interval
    is given; withheld (de-identified) when few patients were treated or few sessions had a side effect."""
    k, n = min(agg.sessions_with_side_effects, agg.doses), agg.doses
    if n == 0 or p.hidden(agg.treated) or p.hidden(k) or p.hidden(n - k):
        return Rate(p.count(k), p.count(n), None, None, None)
    return Rate(k, n, k / n, None, None)
