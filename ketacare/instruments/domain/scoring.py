"""Score a set of answers against an instrument, and classify change from baseline.

Source: docs/domain/instruments.md §1.2 (PHQ-9: sum of items 1-9, item 10 recorded but not added; a missing item
makes the score incomplete; response >= 50 % reduction, remission < 5 [U]), §2.2 (GAD-7 sum), §3 (LSAS fear +
avoidance subscales; response > 35 % reduction, Taylor 2018), §6 (C-SSRS: category by item logic, see cssrs.py),
§11 (CGI-I responder 1-2 [U]), §12 (VAS-anxiety response 50 % reduction), §13.2 (store item answers, totals,
subscales, band and the algorithm version), §13.4 (a missing item is never 0).

Answers are either a mapping {linkId: value} or a list of values in item order (the instrument's items, scored
or not; a shorter list leaves the trailing items unanswered). A value is an option code (str) or the option's
weight (int/Decimal); None means unanswered. Unknown linkIds and invalid values raise InvalidAnswer naming the
item.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal

from ketacare.instruments.domain import cssrs
from ketacare.instruments.domain.model import (
    ChangeClassification,
    Criterion,
    CriterionKind,
    Instrument,
    InvalidAnswer,
    Item,
    Method,
    Score,
    ScoreStatus,
)
from ketacare.instruments.domain.safety import Facts, effective_thresholds, evaluate

Answers = Mapping[str, object] | Sequence[object]


def score(
    instrument: Instrument,
    answers: Answers,
    *,
    baseline: Score | None = None,
    thresholds: Mapping[str, int | Decimal] | None = None,
) -> Score:
    """Score `answers`. `baseline` is an earlier score of the same instrument (e.g. pre-dose) for rules about a
    rise; `thresholds` overrides safety-rule thresholds by rule code (clinic configuration)."""
    if baseline is not None and baseline.instrument_key != instrument.key:
        raise ValueError(f"baseline is a {baseline.instrument_key} score, not {instrument.key}")
    rule_thresholds = effective_thresholds(instrument, thresholds)

    resolved = {
        link_id: instrument.item(link_id).resolve(value)
        for link_id, value in _by_link_id(instrument, answers).items()
        if value is not None
    }
    enabled = {item.link_id: _enabled(item, resolved) for item in instrument.items}
    item_scores = {
        item.link_id: _item_score(item, weight)
        for item in instrument.items
        if item.link_id in resolved and (weight := resolved[item.link_id][1]) is not None
    }
    counted = [i for i in instrument.scored_items if enabled[i.link_id] is not False]
    missing = tuple(i.link_id for i in counted if i.link_id not in item_scores)
    # A "no"/0 on a question the skip logic hides agrees with the skip; anything else needs a clinician's look.
    answered_when_skipped = tuple(
        i.link_id for i in instrument.items if enabled[i.link_id] is False and item_scores.get(i.link_id, 0) != 0
    )
    status = ScoreStatus.INCOMPLETE if missing else ScoreStatus.COMPLETE

    total: Decimal | None = None
    band: str | None = None
    band_floor: str | None = None
    if instrument.method is Method.SUM:
        if not missing:
            total = sum((item_scores[i.link_id] for i in counted), Decimal(0))
            found = instrument.band_for(total)
            band = found.code if found else None
    else:
        # Unanswered counts as "no" only for the floor: the category any further "yes" could only raise.
        says_yes = {link_id: item_scores.get(link_id, Decimal(0)) > 0 for link_id in cssrs.LINK_IDS}
        band_floor = cssrs.triage(*(says_yes[link_id] for link_id in cssrs.LINK_IDS)).value
        band = band_floor if not missing else None

    subscales = {
        sub.key: sum((item_scores[link] for link in sub.link_ids), Decimal(0))
        if all(link in item_scores for link in sub.link_ids)
        else None
        for sub in instrument.subscales
    }
    facts = Facts(
        status=status,
        total=total,
        band=band,
        band_floor=band_floor,
        item_scores=item_scores,
        answered_when_skipped=answered_when_skipped,
    )
    alerts = evaluate(
        instrument,
        facts,
        baseline_total=baseline.total if baseline is not None else None,
        thresholds=rule_thresholds,
    )
    return Score(
        instrument_key=instrument.key,
        instrument_version=instrument.version,
        status=status,
        total=total,
        band=band,
        subscales=subscales,
        missing=missing,
        alerts=alerts,
        item_scores=item_scores,
    )


def classify_change(
    instrument: Instrument, baseline_total: int | Decimal | None, current_total: int | Decimal
) -> ChangeClassification:
    """Response and remission per the instrument's definitions, plus the change from baseline.

    Percentage criteria are compared by cross-multiplication, so 35 % exactly is never read as 35.0000001 %.
    A zero baseline cannot show a percentage reduction: response is then False.
    """
    current = _number(current_total, "current_total")
    baseline = None if baseline_total is None else _number(baseline_total, "baseline_total")
    change: Decimal | None = None
    pct: Decimal | None = None
    if baseline is not None:
        change = current - baseline
        pct = None if baseline == 0 else change * 100 / baseline
    return ChangeClassification(
        response=_meets(instrument.response, baseline, current),
        remission=_meets(instrument.remission, baseline, current),
        change=change,
        pct=pct,
    )


def _meets(criterion: Criterion | None, baseline: Decimal | None, current: Decimal) -> bool | None:
    if criterion is None:
        return None
    match criterion.kind:
        case CriterionKind.TOTAL_BELOW:
            return current < criterion.value
        case CriterionKind.TOTAL_AT_MOST:
            return current <= criterion.value
    if baseline is None:
        raise ValueError(f"{criterion.kind} needs a baseline total")
    if baseline <= 0:
        return False
    reduction_x100 = (baseline - current) * 100
    if criterion.kind is CriterionKind.REDUCTION_PCT_AT_LEAST:
        return reduction_x100 >= criterion.value * baseline
    return reduction_x100 > criterion.value * baseline


def _number(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"{name} must be an int or Decimal")
    return Decimal(value)


def _by_link_id(instrument: Instrument, answers: Answers) -> dict[str, object]:
    if isinstance(answers, Mapping):
        for link_id in answers:
            if not isinstance(link_id, str):
                raise InvalidAnswer(repr(link_id), "linkIds must be strings")
            instrument.item(link_id)  # raises InvalidAnswer for an unknown linkId
        return dict(answers)
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise TypeError("answers must be a mapping {linkId: value} or a list of values in item order")
    if len(answers) > len(instrument.items):
        raise InvalidAnswer(
            f"[{len(instrument.items)}]",
            f"{len(answers)} answers given, {instrument.key} has {len(instrument.items)} items",
        )
    return {item.link_id: value for item, value in zip(instrument.items, answers, strict=False)}


def _enabled(item: Item, resolved: Mapping[str, tuple]) -> bool | None:
    """True/False per the item's skip logic; None when the gating question is itself unanswered."""
    if item.enable_when is None:
        return True
    gate = resolved.get(item.enable_when.question)
    if gate is None:
        return None
    option = gate[0]
    return option is not None and option.code == item.enable_when.answer_code


def _item_score(item: Item, weight: Decimal) -> Decimal:
    if not item.reverse:
        return weight
    low, high = item.weight_range  # type: ignore[misc]  # a reverse item is scored, so it has weights
    return low + high - weight
