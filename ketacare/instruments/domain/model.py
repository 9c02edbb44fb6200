"""Questionnaire engine data model: instruments, items, answer options, bands, rules and score results.

Source: docs/domain/instruments.md §0 (registry: items, item and total ranges, direction), §13 (engine rules:
instruments are versioned, item text is external content for licensed scales, safety triggers are evaluated on
item values, a missing safety item is "unknown -> prompt", never 0; thresholds are configuration with provenance).

Conventions:
- Item weights, totals and thresholds are Decimal (FHIR `ordinalValue` is a decimal); ints compare equal.
- An answer is an option code (str) or the option's weight (int or Decimal). Floats and bools are refused: a
  float weight is imprecise and a bool is too easily a bug (`True` would silently mean 1).
- Numeric items (VAS 0-100, NRS 0-10) take whole numbers within their range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from ketacare.core.errors import DomainError


class InvalidAnswer(DomainError):
    """An answer is not valid for this instrument."""

    code = "invalid_answer"
    http_status = 422

    def __init__(self, link_id: str, reason: str) -> None:
        super().__init__(f"item {link_id!r}: {reason}", link_id=link_id, reason=reason)
        self.link_id = link_id
        self.reason = reason


class InvalidDefinition(DomainError):
    """An instrument definition is malformed or breaks an engine rule."""

    code = "invalid_definition"


class Method(StrEnum):
    SUM = "sum"  # total = sum of scored item weights
    CSSRS_SCREEN = "cssrs-screen"  # risk category by item logic (instruments.md §6.2), never a sum


class ScoreStatus(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"


class Severity(StrEnum):
    """Alert urgency, most urgent first. PROMPT asks a clinician to check something unknown (e.g. a missing
    safety item); it is not a finding."""

    EMERGENCY = "emergency"
    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    PROMPT = "prompt"


class RuleKind(StrEnum):
    ITEM_AT_LEAST = "item_at_least"  # target item weight >= threshold
    ITEM_AT_MOST = "item_at_most"  # target item weight <= threshold
    ANY_ITEM_AT_LEAST = "any_item_at_least"  # any scored item weight >= threshold
    ITEM_UNANSWERED = "item_unanswered"  # target item has no (scoreable) answer
    INCOMPLETE = "incomplete"  # the score is incomplete
    TOTAL_ABOVE = "total_above"  # total > threshold (and, with min_rise and a baseline, rise > min_rise)
    TOTAL_RISE_AT_LEAST = "total_rise_at_least"  # total - baseline total >= threshold (needs a baseline)
    BAND_IS = "band_is"  # band (or, when incomplete, the lowest band already certain) == target
    ANSWERED_WHEN_SKIPPED = "answered_when_skipped"  # a non-zero answer to an item its skip logic hides


RULE_KINDS_WITH_THRESHOLD = frozenset(
    {
        RuleKind.ITEM_AT_LEAST,
        RuleKind.ITEM_AT_MOST,
        RuleKind.ANY_ITEM_AT_LEAST,
        RuleKind.TOTAL_ABOVE,
        RuleKind.TOTAL_RISE_AT_LEAST,
    }
)


class CriterionKind(StrEnum):
    REDUCTION_PCT_AT_LEAST = "reduction_pct_at_least"  # (baseline - current) / baseline * 100 >= value
    REDUCTION_PCT_ABOVE = "reduction_pct_above"  # ... > value
    TOTAL_BELOW = "total_below"  # current < value
    TOTAL_AT_MOST = "total_at_most"  # current <= value


@dataclass(frozen=True)
class AnswerOption:
    code: str
    display: str
    weight: Decimal | None = None  # None: a recorded but unscored answer (e.g. the PHQ-9 difficulty item)
    system: str | None = None


@dataclass(frozen=True)
class NumericRange:
    """Inclusive whole-number range of a numeric item."""

    low: int
    high: int


@dataclass(frozen=True)
class EnableWhen:
    """FHIR enableWhen with operator '=': the item is asked only when `question` was answered `answer_code`."""

    question: str
    answer_code: str


@dataclass(frozen=True)
class Item:
    link_id: str
    label: str  # neutral label, always safe to show (e.g. "LSAS item 7 fear")
    text: str | None = None  # item wording; None for licensed instruments until a clinic supplies it
    code: str | None = None  # e.g. the LOINC item code
    code_system: str | None = None
    options: tuple[AnswerOption, ...] = ()
    range: NumericRange | None = None
    scored: bool = False
    reverse: bool = False
    enable_when: EnableWhen | None = None

    @property
    def is_free(self) -> bool:
        """Imported items with neither options nor a range: any answer is recorded, never scored."""
        return not self.options and self.range is None

    @property
    def weight_range(self) -> tuple[Decimal, Decimal] | None:
        if self.range is not None:
            return Decimal(self.range.low), Decimal(self.range.high)
        weights = [o.weight for o in self.options if o.weight is not None]
        return (min(weights), max(weights)) if weights else None

    def resolve(self, value: object) -> tuple[AnswerOption | None, Decimal | None]:
        """The chosen option (None for numeric/free items) and the raw weight (None if the answer has none)."""
        if isinstance(value, bool | float):
            raise InvalidAnswer(
                self.link_id, f"{type(value).__name__} answers are not accepted; give an option code or an int/Decimal"
            )
        if self.options:
            if isinstance(value, str):
                for option in self.options:
                    if option.code == value:
                        return option, option.weight
                raise InvalidAnswer(self.link_id, f"unknown option code {value!r}")
            if isinstance(value, int | Decimal):
                for option in self.options:
                    if option.weight is not None and option.weight == value:
                        return option, option.weight
                raise InvalidAnswer(self.link_id, f"no option has the value {value}")
            raise InvalidAnswer(self.link_id, f"unsupported answer type {type(value).__name__}")
        if self.range is not None:
            if not isinstance(value, int | Decimal):
                raise InvalidAnswer(self.link_id, f"a number is required, got {type(value).__name__}")
            number = Decimal(value)
            if not number.is_finite() or number != number.to_integral_value():
                raise InvalidAnswer(self.link_id, f"{value} is not a whole number")
            if not self.range.low <= number <= self.range.high:
                raise InvalidAnswer(self.link_id, f"{value} is outside {self.range.low}-{self.range.high}")
            return None, number
        if isinstance(value, str | int | Decimal):
            return None, None
        raise InvalidAnswer(self.link_id, f"unsupported answer type {type(value).__name__}")


@dataclass(frozen=True)
class Band:
    """A severity band; `low`/`high` are inclusive totals. Category instruments (C-SSRS) have no range."""

    code: str
    label: str
    low: Decimal | None = None
    high: Decimal | None = None


@dataclass(frozen=True)
class Subscale:
    key: str
    label: str
    link_ids: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class MissingRule:
    """What a missing scored item does. Only "incomplete" exists: instruments.md gives no proration rule for any
    shipped instrument (§1.2 says so for PHQ-9), so a missing item makes the total incomplete, never zero."""

    kind: str = "incomplete"
    source: str = ""


@dataclass(frozen=True)
class SafetyRule:
    code: str  # stable alert code, e.g. "phq9.item9_positive"
    kind: RuleKind
    severity: Severity
    source: str  # domain file and section the rule and its default threshold come from
    target: str | None = None  # linkId, or band code for BAND_IS
    threshold: Decimal | None = None  # default; a clinic overrides it per score() call
    min_rise: Decimal | None = None  # TOTAL_ABOVE only: also require total - baseline > min_rise


@dataclass(frozen=True)
class Criterion:
    kind: CriterionKind
    value: Decimal
    source: str


@dataclass(frozen=True)
class Instrument:
    key: str
    version: str
    title: str
    method: Method
    items: tuple[Item, ...]
    higher_is_worse: bool | None  # None: no direction (C-SSRS category)
    licensed: bool  # item wording is not shipped; a clinic loads it with apply_licensed_text
    text_license: str | None = None  # copyright / licence note (FHIR Questionnaire.copyright)
    stem: str | None = None  # shared question stem shown above the items
    subscales: tuple[Subscale, ...] = ()
    bands: tuple[Band, ...] = ()
    bands_source: str = ""
    missing_rule: MissingRule = field(default_factory=MissingRule)
    response: Criterion | None = None
    remission: Criterion | None = None
    safety_rules: tuple[SafetyRule, ...] = ()
    code: str | None = None  # Questionnaire.code (panel), e.g. LOINC 44249-1
    code_system: str | None = None
    total_code: str | None = None  # code for the total-score Observation, e.g. LOINC 44261-6
    total_code_system: str | None = None
    source: str = ""

    def item(self, link_id: str) -> Item:
        for item in self.items:
            if item.link_id == link_id:
                return item
        raise InvalidAnswer(link_id, f"unknown item for {self.key}@{self.version}")

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.scored)

    @property
    def total_range(self) -> tuple[Decimal, Decimal] | None:
        """(min, max) possible total for SUM instruments."""
        if self.method is not Method.SUM:
            return None
        ranges = [i.weight_range for i in self.scored_items]
        return sum((r[0] for r in ranges if r), Decimal(0)), sum((r[1] for r in ranges if r), Decimal(0))

    def band_for(self, total: Decimal) -> Band | None:
        for band in self.bands:
            if band.low is not None and band.high is not None and band.low <= total <= band.high:
                return band
        return None


class Alert(NamedTuple):
    code: str
    severity: Severity


@dataclass(frozen=True)
class Score:
    """Result of scoring one set of answers.

    total and band are None when incomplete (and C-SSRS never has a total: its band is the risk category).
    item_scores holds the weight (after reverse scoring) of every answered weighted item; subscales map to None
    when one of their items is missing.
    """

    instrument_key: str
    instrument_version: str
    status: ScoreStatus
    total: Decimal | None
    band: str | None
    subscales: dict[str, Decimal | None]
    missing: tuple[str, ...]
    alerts: tuple[Alert, ...]
    item_scores: dict[str, Decimal]


class ChangeClassification(NamedTuple):
    """response/remission are None when the instrument defines no such criterion. change = current - baseline;
    pct = change / baseline * 100 (negative = lower total), None without a baseline or when it is 0."""

    response: bool | None
    remission: bool | None
    change: Decimal | None
    pct: Decimal | None
