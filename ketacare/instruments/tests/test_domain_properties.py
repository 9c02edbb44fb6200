"""Scoring properties over every shipped summed instrument (Hypothesis).

Source of the rules under test: docs/domain/instruments.md §0 (ranges, direction), §13.4 (a missing item is
never 0; no proration rule is published, so missing -> incomplete).
"""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.instruments.domain.model import InvalidAnswer, ScoreStatus
from ketacare.instruments.domain.registry import apply_licensed_text
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.tests.support import complete_answers, shipped, summed, weight_of

PROPERTY = settings(max_examples=200, deadline=None)
SUMMED = summed()
WORSE_IS_HIGHER = [i for i in SUMMED if i.higher_is_worse]


@st.composite
def instrument_and_answers(draw, instruments=SUMMED):
    instrument = draw(st.sampled_from(instruments))
    return instrument, draw(complete_answers(instrument))


@PROPERTY
@given(instrument_and_answers())
def test_complete_totals_stay_within_the_published_range_and_equal_the_item_sum(case):
    instrument, answers = case
    result = score(instrument, answers)
    low, high = instrument.total_range
    assert result.status is ScoreStatus.COMPLETE and result.missing == ()
    assert low <= result.total <= high
    expected = sum((weight_of(item, answers[item.link_id]) for item in instrument.scored_items), Decimal(0))
    assert result.total == expected
    if instrument.bands:
        assert result.band is not None


@PROPERTY
@given(instrument_and_answers(WORSE_IS_HIGHER), st.data())
def test_raising_any_one_answer_never_lowers_the_total(case, data):
    instrument, answers = case
    item = data.draw(st.sampled_from([i for i in instrument.scored_items if not i.reverse]))
    current = weight_of(item, answers[item.link_id])
    low, high = item.weight_range
    if current == high:
        return
    higher = data.draw(st.integers(int(current) + 1, int(high)))
    before = score(instrument, answers).total
    after = score(instrument, answers | {item.link_id: higher}).total
    assert after >= before
    assert after - before == higher - current


@PROPERTY
@given(instrument_and_answers(), st.data())
def test_a_missing_item_never_counts_as_zero(case, data):
    instrument, answers = case
    scored = [i.link_id for i in instrument.scored_items]
    dropped = data.draw(st.sets(st.sampled_from(scored), min_size=1))
    as_none = data.draw(st.booleans())  # leaving the key out and answering None are the same
    partial = (
        {k: (None if k in dropped else v) for k, v in answers.items()}
        if as_none
        else {k: v for k, v in answers.items() if k not in dropped}
    )
    result = score(instrument, partial)
    # No shipped instrument has a published proration rule, so the total is withheld, never zero-filled.
    assert instrument.missing_rule.kind == "incomplete"
    assert result.status is ScoreStatus.INCOMPLETE
    assert result.total is None and result.band is None
    assert result.missing == tuple(link for link in scored if link in dropped)
    for sub in instrument.subscales:
        assert (result.subscales[sub.key] is None) == bool(dropped & set(sub.link_ids))


def _invalid_values(item):
    weights = [o.weight for o in item.options if o.weight is not None]
    values = [True, 1.0, "not-a-code", object()]
    if item.range is not None:
        values += [item.range.low - 1, item.range.high + 1, Decimal("0.5") + item.range.low, Decimal("NaN")]
    elif weights:
        values += [int(max(weights)) + 1, int(min(weights)) - 1, Decimal("0.5") + min(weights)]
    return values


@PROPERTY
@given(instrument_and_answers(), st.data())
def test_any_invalid_answer_is_refused_naming_the_item(case, data):
    instrument, answers = case
    item = data.draw(st.sampled_from(instrument.items))
    bad = data.draw(st.sampled_from(_invalid_values(item)))
    with pytest.raises(InvalidAnswer) as error:
        score(instrument, answers | {item.link_id: bad})
    assert error.value.link_id == item.link_id


@PROPERTY
@given(instrument_and_answers(), st.text(min_size=1, max_size=12))
def test_an_unknown_link_id_is_refused_naming_it(case, link_id):
    instrument, answers = case
    if link_id in {i.link_id for i in instrument.items}:
        return
    with pytest.raises(InvalidAnswer) as error:
        score(instrument, answers | {link_id: 0})
    assert error.value.link_id == link_id


@PROPERTY
@given(instrument_and_answers())
def test_a_list_in_item_order_scores_like_the_mapping(case):
    instrument, answers = case
    as_list = [answers.get(item.link_id) for item in instrument.items]
    assert score(instrument, as_list) == score(instrument, answers)


def test_a_list_longer_than_the_instrument_is_refused():
    with pytest.raises(InvalidAnswer):
        score(shipped()["phq-9"], [0] * 11)


@PROPERTY
@given(instrument_and_answers([shipped()["phq-9"]]))
def test_phq9_item9_alert_iff_item9_is_at_least_one(case):
    _, answers = case
    item9 = shipped()["phq-9"].item("/44260-8")
    alerted = any(a.code == "phq9.item9_positive" for a in score(shipped()["phq-9"], answers).alerts)
    assert alerted is (weight_of(item9, answers["/44260-8"]) >= 1)


@PROPERTY
@given(instrument_and_answers([i for i in SUMMED if i.licensed]))
def test_licensed_text_never_changes_the_score(case):
    instrument, answers = case
    licensed = apply_licensed_text(
        instrument,
        {
            i.link_id: {"text": f"clinic wording {n}", "options": {o.code: f"anchor {o.code}" for o in i.options}}
            for n, i in enumerate(instrument.items)
        },
    )
    assert all(i.text is not None for i in licensed.items)
    assert score(licensed, answers) == score(instrument, answers)
