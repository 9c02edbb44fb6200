"""Outcome definitions: what counts as response, remission and relapse on each instrument.

Source: docs/domain/instruments.md §0 (ranges, direction, recall periods), §1.2 (PHQ-9 response >= 50 % and
remission < 5, conventional [U]), §2.2 (GAD-7, same convention [U]), §3 (LSAS: response > 35 % reduction, Taylor
2018 [C]; cut-off >= 30 [S]), §4 (SPIN cut-off >= 19 [C]), §5 (Mini-SPIN cut-off >= 6 [C]), §12 (VAS-Anxiety
response 50 % reduction, Taylor 2018 [C]), §13.5 (thresholds are configuration with provenance);
docs/domain/evidence.md §1 (Taylor 2018: first rating 3 h after infusion), §6 (assessment windows);
docs/domain/iv-ketamine.md §2 (Murrough 2013: relapse clock starts at the last infusion of the series).

One source of truth: response and remission come from the instrument definition files
(ketacare/instruments/definitions/*.json, loaded by ketacare.instruments.domain.registry) wherever the instrument
defines them; this module adds what only outcomes needs (baseline window, relapse rule, rapid-relief window) and a
fallback rule for instruments without one. Every default carries its provenance in `source`; a clinic overrides
fields with `definition_for` (the overrides are stored by the outcomes app).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from ketacare.instruments.domain.model import CriterionKind, Instrument
from ketacare.instruments.domain.registry import load_shipped


class Direction(StrEnum):
    LOWER_IS_BETTER = "lower_is_better"
    HIGHER_IS_BETTER = "higher_is_better"


class RelapseKind(StrEnum):
    LOSS_OF_REMISSION = "loss_of_remission"  # total no longer within remission_max_total
    LOSS_OF_RESPONSE = "loss_of_response"  # reduction from baseline no longer meets the response rule
    PCT_OF_BASELINE = "pct_of_baseline"  # total back to >= pct_of_baseline % of the baseline total


@dataclass(frozen=True)
class RelapseRule:
    """When a patient who was well at the end of a series counts as relapsed.

    A relapse needs `consecutive` measurements in a row that meet the criterion; the relapse time is the first of
    them. The patient is at risk only if the first measurement within `end_of_series_within` after the last dose
    of the series does not meet the criterion (for LOSS_OF_RESPONSE: a responder at the end of the series).
    """

    kind: RelapseKind
    consecutive: int = 2
    pct_of_baseline: Decimal | None = None
    end_of_series_within: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if self.consecutive < 1:
            raise ValueError("relapse needs at least one measurement")
        if self.kind is RelapseKind.PCT_OF_BASELINE and (self.pct_of_baseline is None or self.pct_of_baseline <= 0):
            raise ValueError("PCT_OF_BASELINE relapse needs a positive pct_of_baseline")
        if self.end_of_series_within <= timedelta(0):
            raise ValueError("end_of_series_within must be positive")


@dataclass(frozen=True)
class RapidReliefWindow:
    """Pre-dose value (within `pre_dose_within` before the dose) vs the value nearest `hours_after` the dose."""

    hours_after: timedelta
    tolerance: timedelta
    pre_dose_within: timedelta


@dataclass(frozen=True)
class OutcomeDefinition:
    """Response, remission and relapse rules for one instrument.

    response_pct_reduction: percentage improvement from baseline that counts as response (35 means 35 %).
    response_strict: True means the improvement must be strictly greater (LSAS "> 35 %"), False means at least
        (PHQ-9 ">= 50 %").
    remission_max_total: the worst total still counted as remission, INCLUSIVE; "PHQ-9 < 5" is stored as 4.
        For HIGHER_IS_BETTER instruments it is the lowest total still counted as remission. None: no remission rule.
    baseline_window: the baseline is the last value on or before the first dose and no older than this.
    """

    instrument_key: str
    response_pct_reduction: Decimal
    response_strict: bool
    remission_max_total: Decimal | None
    relapse: RelapseRule
    direction: Direction = Direction.LOWER_IS_BETTER
    baseline_window: timedelta = timedelta(days=14)
    rapid_relief: RapidReliefWindow | None = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not Decimal(0) < self.response_pct_reduction <= Decimal(100):
            raise ValueError("response_pct_reduction must be in (0, 100]")
        if self.relapse.kind is RelapseKind.LOSS_OF_REMISSION and self.remission_max_total is None:
            raise ValueError(f"{self.instrument_key}: loss-of-remission relapse needs remission_max_total")
        if self.baseline_window <= timedelta(0):
            raise ValueError("baseline_window must be positive")


# Relapse default for every instrument: loss of response on two consecutive measurements. The domain files give
# no relapse definition (Murrough 2013's is not quoted in iv-ketamine.md §2), so this is clinic policy [U].
_LOSS_OF_RESPONSE_TWICE = RelapseRule(kind=RelapseKind.LOSS_OF_RESPONSE, consecutive=2)

# Taylor 2018 took the first post-infusion rating at 3 h (evidence.md §1 [C]); the +/- 1 h tolerance and the
# 24 h pre-dose window are clinic policy [U].
_TAYLOR_3H = RapidReliefWindow(
    hours_after=timedelta(hours=3), tolerance=timedelta(hours=1), pre_dose_within=timedelta(hours=24)
)

# What outcomes adds to each instrument: the baseline window, relapse rule and rapid-relief window, plus a fallback
# response/remission rule for instruments whose definition file has none. Response and remission themselves come
# from the instrument definition (ketacare/instruments/definitions/*.json) whenever it defines them: that file is
# the one source of truth, and `build_definitions` refuses a fallback that would contradict it.
#
# Baseline windows follow each instrument's recall period (instruments.md §0): 2 weeks for PHQ-9/GAD-7, the past
# week for LSAS/SPIN/Mini-SPIN, "now" (same day) for the VAS. Deriving the window from recall is our choice [U].


@dataclass(frozen=True)
class OutcomeExtras:
    """The outcome-only part of a definition. `fallback_*` apply only where the instrument defines no rule."""

    instrument_key: str
    relapse: RelapseRule
    baseline_window: timedelta
    rapid_relief: RapidReliefWindow | None = None
    fallback_response_pct: Decimal | None = None
    fallback_response_strict: bool = False
    fallback_remission_max_total: Decimal | None = None
    source: str = ""


OUTCOME_EXTRAS: Mapping[str, OutcomeExtras] = {
    e.instrument_key: e
    for e in (
        OutcomeExtras("phq-9", _LOSS_OF_RESPONSE_TWICE, timedelta(days=14)),
        OutcomeExtras("gad-7", _LOSS_OF_RESPONSE_TWICE, timedelta(days=14)),
        OutcomeExtras(
            "lsas-cr",
            _LOSS_OF_RESPONSE_TWICE,
            timedelta(days=7),
            rapid_relief=_TAYLOR_3H,
            fallback_remission_max_total=Decimal(29),
            source=(
                "remission total <= 29, i.e. below the >= 30 probable-SAD cut-off (instruments.md §3, Mennin 2002) "
                "[S -> U derived]; rapid relief at 3 h as in Taylor's clinician-rated LSAS (evidence.md §1) [C]"
            ),
        ),
        OutcomeExtras(
            "lsas-sr",
            _LOSS_OF_RESPONSE_TWICE,
            timedelta(days=7),
            fallback_remission_max_total=Decimal(29),
            source="remission total <= 29, below the LSAS-SR >= 30 cut-off (instruments.md §3, Rytwinski 2009) "
            "[S -> U derived]",
        ),
        OutcomeExtras(
            "spin",
            _LOSS_OF_RESPONSE_TWICE,
            timedelta(days=7),
            fallback_response_pct=Decimal(50),
            fallback_remission_max_total=Decimal(18),
            source="instruments.md §4: no SPIN response definition retrieved, generic >= 50 % reduction [U]; "
            "remission total <= 18, below the >= 19 cut-off [C cut-off, U derived]",
        ),
        OutcomeExtras(
            "mini-spin",
            _LOSS_OF_RESPONSE_TWICE,
            timedelta(days=7),
            fallback_response_pct=Decimal(50),
            fallback_remission_max_total=Decimal(5),
            source="instruments.md §5: no Mini-SPIN response definition retrieved, generic >= 50 % reduction [U]; "
            "remission total <= 5, below the >= 6 positive screen [C cut-off, U derived]",
        ),
        OutcomeExtras(
            "vas-anxiety",
            _LOSS_OF_RESPONSE_TWICE,
            timedelta(days=1),
            rapid_relief=_TAYLOR_3H,
            source="rapid relief at 3 h (Taylor 2018, evidence.md §1) [C]",
        ),
    )
}


def _remission_bound(instrument: Instrument) -> Decimal | None:
    """The instrument's remission rule as an inclusive bound on the total ("< 5" on whole-number totals is 4)."""
    criterion = instrument.remission
    if criterion is None:
        return None
    if criterion.kind is CriterionKind.TOTAL_AT_MOST:
        return criterion.value
    if criterion.kind is CriterionKind.TOTAL_BELOW:
        weights = [w for item in instrument.scored_items for w in (item.weight_range or ())]
        if not weights or any(w != w.to_integral_value() for w in weights):
            raise ValueError(f"{instrument.key}: 'total below' remission needs whole-number item weights")
        return Decimal(math.ceil(criterion.value) - 1)
    raise ValueError(f"{instrument.key}: remission must be a total cut-off, not {criterion.kind}")


def definition_from_instrument(instrument: Instrument, extras: OutcomeExtras) -> OutcomeDefinition:
    """Response and remission from the instrument definition (or the outcome fallback where it has none)."""
    if instrument.higher_is_worse is None:
        raise ValueError(f"{instrument.key} has no direction: outcome trajectories need a scored total")
    sources = []
    response = instrument.response
    if response is not None:
        if response.kind not in (CriterionKind.REDUCTION_PCT_AT_LEAST, CriterionKind.REDUCTION_PCT_ABOVE):
            raise ValueError(f"{instrument.key}: response must be a percentage reduction, not {response.kind}")
        if extras.fallback_response_pct is not None:
            raise ValueError(f"{instrument.key}: the instrument defines response; drop the outcomes fallback")
        pct, strict = response.value, response.kind is CriterionKind.REDUCTION_PCT_ABOVE
        sources.append(f"response from {instrument.key}@{instrument.version}: {response.source}")
    elif extras.fallback_response_pct is not None:
        pct, strict = extras.fallback_response_pct, extras.fallback_response_strict
    else:
        raise ValueError(f"{instrument.key}: no response rule in the instrument definition nor in outcomes")
    remission = _remission_bound(instrument)
    if remission is not None:
        if extras.fallback_remission_max_total is not None:
            raise ValueError(f"{instrument.key}: the instrument defines remission; drop the outcomes fallback")
        sources.append(f"remission from {instrument.key}@{instrument.version}: "
                       f"{instrument.remission.source if instrument.remission else ''}")
    else:
        remission = extras.fallback_remission_max_total
    if extras.source:
        sources.append(extras.source)
    return OutcomeDefinition(
        instrument_key=instrument.key,
        response_pct_reduction=pct,
        response_strict=strict,
        remission_max_total=remission,
        relapse=extras.relapse,
        direction=Direction.LOWER_IS_BETTER if instrument.higher_is_worse else Direction.HIGHER_IS_BETTER,
        baseline_window=extras.baseline_window,
        rapid_relief=extras.rapid_relief,
        source="; ".join(sources),
    )


def build_definitions(
    instruments: Mapping[str, Instrument], extras: Mapping[str, OutcomeExtras] = OUTCOME_EXTRAS
) -> dict[str, OutcomeDefinition]:
    """One definition per instrument that has outcome extras and a shipped definition."""
    return {key: definition_from_instrument(instruments[key], e) for key, e in extras.items() if key in instruments}


DEFAULT_DEFINITIONS: Mapping[str, OutcomeDefinition] = build_definitions(load_shipped())

# Fields a clinic may override (stored by the outcomes app, Perm.CLINIC_CONFIGURE).
OVERRIDABLE_FIELDS = ("response_pct_reduction", "response_strict", "remission_max_total", "relapse", "baseline_window")


def definition_for(
    instrument_key: str, clinic_overrides: Mapping[str, Mapping[str, object]] | None = None
) -> OutcomeDefinition:
    """The default definition for an instrument with the clinic's field overrides applied (and re-validated)."""
    try:
        definition = DEFAULT_DEFINITIONS[instrument_key]
    except KeyError:
        raise KeyError(f"no outcome definition for instrument {instrument_key!r}") from None
    changes = (clinic_overrides or {}).get(instrument_key)
    if not changes:
        return definition
    if "source" not in changes:
        changed = ", ".join(sorted(changes))
        changes = {**changes, "source": f"clinic override ({changed}) of: {definition.source}"}
    return replace(definition, **changes)  # type: ignore[arg-type]
