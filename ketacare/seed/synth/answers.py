"""Scored answer sets for generated questionnaires, cached per distinct set (scored by the instruments domain)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ketacare.instruments.domain.messages import rule_message
from ketacare.instruments.domain.registry import load_shipped
from ketacare.instruments.services import raw_answers, score_answers
from ketacare.seed.synth.bulk import (
    JsonText,
)


@dataclass(frozen=True)
class Scored:
    answers: JsonText
    total: Decimal | None
    band: str
    subscales: JsonText
    missing: JsonText
    item_scores: JsonText
    status: str
    alerts: tuple[tuple[str, str, str], ...]  # (code, severity, message)
    item9: int | None


class AnswerBank:
    """Answer sets for a target total, scored once by the instruments domain and cached."""

    def __init__(self) -> None:
        self.instruments = load_shipped()
        self.cache: dict[tuple, Scored] = {}

    def version(self, key: str) -> str:
        return self.instruments[key].version

    def get(self, key: str, total: int, *, item9: int = 0, pattern: int = 0) -> Scored:
        cache_key = (key, total, item9, pattern)
        scored = self.cache.get(cache_key)
        if scored is None:
            scored = self.cache[cache_key] = self._score(key, total, item9, pattern)
        return scored

    def _score(self, key: str, total: int, item9: int, pattern: int) -> Scored:
        instrument = self.instruments[key]
        scored_items = [i for i in instrument.items if i.scored]
        answers: dict[str, Any] = {}
        if key == "vas-anxiety":
            answers = {"vas": total}
        else:
            fixed = {}
            if key == "phq-9":
                fixed = {"/44260-8": item9}
            free = [i for i in scored_items if i.link_id not in fixed]
            top = int(max(w for i in free for w in (i.weight_range or ())))
            weights = dict.fromkeys((i.link_id for i in free), 0)
            remaining = max(0, total - sum(fixed.values()))
            order = free[pattern % len(free):] + free[:pattern % len(free)]
            while remaining > 0 and any(weights[i.link_id] < top for i in order):
                for item in order:
                    if remaining and weights[item.link_id] < top:
                        weights[item.link_id] += 1
                        remaining -= 1
            weights.update(fixed)
            for item in instrument.items:
                if item.scored:
                    option = next(o for o in item.options if o.weight == weights[item.link_id])
                    answers[item.link_id] = option.code
                elif item.options:  # the unscored "how difficult" item: worse with the total
                    top_total = int((instrument.total_range or (0, 0))[1])
                    n = min(len(item.options) - 1, total * len(item.options) // (top_total + 1))
                    answers[item.link_id] = item.options[n].code
        result = score_answers(instrument=instrument, answers=answers)

        def number(value):
            return None if value is None else (int(value) if value == value.to_integral_value() else float(value))

        dumps = lambda v: JsonText(json.dumps(v, separators=(",", ":")))  # noqa: E731
        item_scores = {k: number(v) for k, v in result.item_scores.items()}
        return Scored(
            answers=dumps(raw_answers(instrument, answers)), total=result.total, band=result.band or "",
            subscales=dumps({k: number(v) for k, v in result.subscales.items()}), missing=dumps(list(result.missing)),
            item_scores=dumps(item_scores), status=result.status.value,
            alerts=tuple((a.code, a.severity.value, rule_message(instrument.title, a.code)) for a in result.alerts),
            item9=item9 if key == "phq-9" else None)
