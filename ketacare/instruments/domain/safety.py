"""Safety rules: alerts raised from item values, totals and bands of one scored questionnaire.

Source: docs/domain/instruments.md §1.3 (PHQ-9 item 9 >= 1 -> same-day clinician assessment), §1.2 and §13.4
(a missing safety item is "unknown -> prompt clinician", never 0), §6.2-6.3 (C-SSRS levels and actions),
§7 (dissociation: CADSS total > 4 and change > 0), §8 (MOAA/S <= 3 moderate or greater sedation, <= 1 emergency
[U clinic policy]), §9 (BPRS+ item >= 4 or rise >= 3 from pre-dose [U clinic policy]), §13.3 (safety triggers are
evaluated on item values, not only totals), §13.5 (thresholds are configuration).

The rules themselves are data in each instrument definition, each citing its section. A clinic overrides a
rule's threshold per call with `thresholds={rule_code: value}` (stored per clinic: models.SafetyThresholdSetting);
unknown codes are refused so that a typo can never silently switch a rule back to its default, and a value outside
`threshold_bounds` is refused so that an override can never silently switch a rule off.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ketacare.instruments.domain.model import (
    RULE_KINDS_WITH_THRESHOLD,
    Alert,
    Instrument,
    RuleKind,
    SafetyRule,
    ScoreStatus,
)


@dataclass(frozen=True)
class Facts:
    """What the rules look at, computed by the scorer."""

    status: ScoreStatus
    total: Decimal | None
    band: str | None
    band_floor: str | None  # C-SSRS: the lowest category already certain from the answers given
    item_scores: Mapping[str, Decimal]
    answered_when_skipped: tuple[str, ...]


# Rules no clinic may relax. instruments.md §1.3 [C]: any answer other than "Not at all" on PHQ-9 item 9 calls for a
# same-day suicide-risk assessment; raising the threshold would silence "several days" answers. The screening rule
# set holds the same line (screening/domain/rules.py).
FIXED_RULES = {"phq9.item9_positive": "instruments.md §1.3 [C]: any answer other than 'Not at all' on item 9"}


def effective_thresholds(
    instrument: Instrument, overrides: Mapping[str, int | Decimal] | None
) -> dict[str, Decimal | None]:
    """Each rule's threshold: the definition's cited default unless the clinic overrides it."""
    thresholds = {rule.code: rule.threshold for rule in instrument.safety_rules}
    for code, value in (overrides or {}).items():
        rule = next((r for r in instrument.safety_rules if r.code == code), None)
        if rule is None:
            raise ValueError(f"{instrument.key} has no safety rule {code!r}")
        if rule.kind not in RULE_KINDS_WITH_THRESHOLD:
            raise ValueError(f"safety rule {code!r} has no threshold")
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise ValueError(f"threshold for {code!r} must be an int or Decimal")
        if code in FIXED_RULES and value != rule.threshold:
            raise ValueError(f"safety rule {code!r} is fixed by its source ({FIXED_RULES[code]}): no clinic may "
                             "change it")
        low, high = threshold_bounds(instrument, rule)
        if not low <= value <= high:
            raise ValueError(f"threshold for {code!r} must be between {low} and {high}, or the rule could never "
                             "fire (or would fire on every answer)")
        thresholds[code] = Decimal(value)
    return thresholds


def threshold_bounds(instrument: Instrument, rule: SafetyRule) -> tuple[Decimal, Decimal]:
    """The thresholds a clinic may set for a rule with one: those at which some answers fire it and others do not
    (an alert that can never fire is a rule switched off; one that always fires teaches staff to ignore it)."""
    match rule.kind:
        case RuleKind.ITEM_AT_LEAST | RuleKind.ITEM_AT_MOST | RuleKind.ANY_ITEM_AT_LEAST:
            items = [instrument.item(rule.target)] if rule.target else instrument.scored_items
            ranges = [r for item in items if (r := item.weight_range) is not None]
            low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
            return (low + 1, high) if rule.kind is not RuleKind.ITEM_AT_MOST else (low, high - 1)
        case RuleKind.TOTAL_ABOVE if instrument.total_range is not None:
            low, high = instrument.total_range
            return low, high - 1
        case RuleKind.TOTAL_RISE_AT_LEAST if instrument.total_range is not None:
            low, high = instrument.total_range
            return Decimal(1), high - low
    raise ValueError(f"safety rule {rule.code!r} has no threshold")


def _limit(rule: SafetyRule, threshold: Decimal | None) -> Decimal:
    """The threshold of a rule kind that has one (validation guarantees it; a missing one is a programming error)."""
    if threshold is None:
        raise ValueError(f"safety rule {rule.code!r} has no threshold")
    return threshold


def evaluate(
    instrument: Instrument,
    facts: Facts,
    *,
    baseline_total: Decimal | None,
    thresholds: Mapping[str, Decimal | None],
) -> tuple[Alert, ...]:
    return tuple(
        Alert(rule.code, rule.severity)
        for rule in instrument.safety_rules
        if _fires(rule, instrument, facts, baseline_total, thresholds[rule.code])
    )


def _fires(
    rule: SafetyRule,
    instrument: Instrument,
    facts: Facts,
    baseline_total: Decimal | None,
    threshold: Decimal | None,
) -> bool:
    scores = facts.item_scores
    match rule.kind:
        case RuleKind.ITEM_AT_LEAST:
            value = scores.get(rule.target or "")
            return value is not None and value >= _limit(rule, threshold)
        case RuleKind.ITEM_AT_MOST:
            value = scores.get(rule.target or "")
            return value is not None and value <= _limit(rule, threshold)
        case RuleKind.ANY_ITEM_AT_LEAST:
            return any(scores.get(i.link_id, Decimal(-1)) >= _limit(rule, threshold) for i in instrument.scored_items)
        case RuleKind.ITEM_UNANSWERED:
            return rule.target not in scores
        case RuleKind.INCOMPLETE:
            return facts.status is ScoreStatus.INCOMPLETE
        case RuleKind.TOTAL_ABOVE:
            if facts.total is None or not facts.total > _limit(rule, threshold):
                return False
            # Without a usable baseline the rise cannot be checked: alert on the level alone (safer side).
            if rule.min_rise is None or baseline_total is None:
                return True
            return facts.total - baseline_total > rule.min_rise
        case RuleKind.TOTAL_RISE_AT_LEAST:
            if facts.total is None or baseline_total is None:
                return False
            return facts.total - baseline_total >= _limit(rule, threshold)
        case RuleKind.BAND_IS:
            if facts.status is ScoreStatus.COMPLETE:
                return facts.band == rule.target
            return facts.band_floor == rule.target
        case RuleKind.ANSWERED_WHEN_SKIPPED:
            return bool(facts.answered_when_skipped)
    raise AssertionError(rule.kind)  # pragma: no cover - the loader admits only known kinds
