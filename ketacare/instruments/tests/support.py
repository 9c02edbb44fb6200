"""Shared test helpers: fixture paths, scoring vectors mapped onto an instrument, Hypothesis strategies."""

import json
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from ketacare.instruments.domain.model import Instrument, Item, Method
from ketacare.instruments.domain.registry import load_shipped

EXTERNAL = Path(__file__).resolve().parents[3] / "fixtures" / "external"
QUESTIONNAIRES = EXTERNAL / "questionnaires"
VECTORS_JSON = EXTERNAL / "scoring-vectors" / "phq9_gad7_scoring_vectors.json"
VECTORS_CSV = EXTERNAL / "scoring-vectors" / "phq9_gad7_scoring_vectors.csv"

VECTOR_INSTRUMENT = {"PHQ-9": "phq-9", "GAD-7": "gad-7"}


@cache
def shipped() -> dict[str, Instrument]:
    return load_shipped()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads((QUESTIONNAIRES / name).read_text(encoding="utf-8"))


def vectors() -> list[dict[str, Any]]:
    return json.loads(VECTORS_JSON.read_text(encoding="utf-8"))["vectors"]


def vector_answers(instrument: Instrument, vector: dict[str, Any], *, by: str) -> dict[str, object]:
    """The vector's answers keyed by the instrument's linkIds.

    Source linkIds are matched exactly ("/44250-9"), else by item code ("44250-9"), else by position ("PHQ.3",
    "H1/T1/Q3" -> the 3rd item). `by="code"` gives the source answer code, `by="weight"` its ordinal.
    A repeated linkId keeps its last answer (the asbi PHQ-9 case answers item 10 twice).
    """
    answers: dict[str, object] = {}
    for answer in vector["answers"]:
        item = _match(instrument, answer["linkId"])
        weighted = any(o.weight is not None for o in item.options)
        answers[item.link_id] = int(answer["ordinal"]) if by == "weight" and weighted else answer["answer_code"]
    return answers


def _match(instrument: Instrument, source_link_id: str) -> Item:
    for item in instrument.items:
        if source_link_id in (item.link_id, item.code):
            return item
    position = re.search(r"(\d+)$", source_link_id)
    assert position, f"cannot map {source_link_id!r}"
    return instrument.items[int(position.group(1)) - 1]


def by_position(answers: dict[str, object], source: Instrument, target: Instrument) -> dict[str, object]:
    """The same answers keyed by the target's linkIds, item for item in order (e.g. UUID linkIds)."""
    position = {item.link_id: n for n, item in enumerate(source.items)}
    return {target.items[position[link_id]].link_id: value for link_id, value in answers.items()}


def answers_for_total(instrument: Instrument, total: int) -> dict[str, int]:
    """Whole-number values for the scored items that add up to `total` (filled greedily, item by item)."""
    values = {}
    remaining = Decimal(total) - instrument.total_range[0]
    for item in instrument.scored_items:
        low, high = item.weight_range
        step = min(high - low, remaining)
        values[item.link_id] = int(low + step)
        remaining -= step
    assert remaining == 0, f"{instrument.key} cannot reach {total}"
    return values


def summed(method: Method = Method.SUM) -> list[Instrument]:
    return [i for i in shipped().values() if i.method is method]


def item_value(item: Item) -> st.SearchStrategy[object]:
    """A valid answer for `item`: an option code or its weight, or a whole number in range."""
    if item.range is not None:
        return st.integers(item.range.low, item.range.high)
    weighted = [o for o in item.options if o.weight is not None]
    codes = st.sampled_from([o.code for o in item.options])
    if not weighted:
        return codes
    return st.one_of(codes, st.sampled_from([int(o.weight) for o in weighted]))


@st.composite
def complete_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, object]:
    """Every scored item answered; unscored items sometimes answered."""
    answers: dict[str, object] = {}
    for item in instrument.items:
        if item.scored or draw(st.booleans()):
            answers[item.link_id] = draw(item_value(item))
    return answers


def weight_of(item: Item, value: object) -> Decimal:
    """Independent of the engine: the option weight named by a code or a weight, or the number itself."""
    if isinstance(value, str):
        return next(o.weight for o in item.options if o.code == value)
    return Decimal(value)
