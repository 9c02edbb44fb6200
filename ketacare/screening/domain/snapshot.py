"""JSON snapshots of intake facts and eligibility results, so a signed decision keeps exactly what it evaluated.

Not a clinical rule: a lossless, deterministic encoding of `facts.IntakeFacts` and `rules.EligibilityResult`
(Decimals as strings, dates as ISO 8601, enums as their values). `facts_digest` is the SHA-256 of the canonical
JSON; two fact sets with the same digest evaluate identically under the same rule set and parameters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields
from datetime import date
from decimal import Decimal
from typing import Any

from ketacare.screening.domain.facts import FACT_NAMES, CssrsRisk, IntakeFacts
from ketacare.screening.domain.resistance import ResistanceSummary, Response, TreatmentTrial, TrialKind
from ketacare.screening.domain.rules import EligibilityParams, EligibilityResult

_DATES = {"date_of_birth"}
_DECIMALS = {"weight_kg", "height_cm", "benzodiazepine_lorazepam_eq_mg_per_day"}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, str):  # StrEnum values become plain strings
        return str(value)
    return value


def trial_to_dict(trial: TreatmentTrial) -> dict[str, Any]:
    return {f.name: _plain(getattr(trial, f.name)) for f in fields(TreatmentTrial)}


def trial_from_dict(data: dict[str, Any]) -> TreatmentTrial:
    dose = data.get("dose_mg_per_day")
    response = data.get("response")
    return TreatmentTrial(
        name=data["name"],
        kind=TrialKind(data["kind"]),
        dose_mg_per_day=None if dose is None else Decimal(dose),
        duration_weeks=data.get("duration_weeks"),
        adequate=data.get("adequate"),
        response=None if response is None else Response(response),
        current_episode=data.get("current_episode"),
    )


def facts_to_dict(facts: IntakeFacts) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in FACT_NAMES:
        value = getattr(facts, name)
        if name == "prior_trials" and value is not None:
            data[name] = [trial_to_dict(t) for t in value]
        else:
            data[name] = _plain(value)
    return data


def facts_from_dict(data: dict[str, Any]) -> IntakeFacts:
    values: dict[str, Any] = {}
    for name in FACT_NAMES:
        value = data.get(name)
        if value is None:
            values[name] = None
        elif name in _DATES:
            values[name] = date.fromisoformat(value)
        elif name in _DECIMALS:
            values[name] = Decimal(value)
        elif name == "diagnoses":
            values[name] = tuple(value)
        elif name == "diagnosis_onsets":
            values[name] = tuple((code, date.fromisoformat(on)) for code, on in value)
        elif name == "prior_trials":
            values[name] = tuple(trial_from_dict(t) for t in value)
        elif name == "cssrs_risk":
            values[name] = CssrsRisk(value)
        else:
            values[name] = value
    return IntakeFacts(**values)


def facts_digest(facts: IntakeFacts) -> str:
    canonical = json.dumps(facts_to_dict(facts), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def params_to_dict(params: EligibilityParams) -> dict[str, Any]:
    return _plain(asdict(params))


def resistance_to_dict(summary: ResistanceSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {**asdict(summary), "description": summary.description}


def result_to_dict(result: EligibilityResult) -> dict[str, Any]:
    return {
        "route": str(result.route),
        "status": str(result.status),
        "ruleset_version": result.ruleset_version,
        "findings": [
            {"rule_code": f.rule_code, "verdict": str(f.verdict), "message": f.message, "citation": str(f.citation),
             "clears": f.clears}
            for f in result.findings
        ],
        "missing_facts": list(result.missing_facts),
        "undecided_rules": list(result.undecided_rules),
        "resistance": resistance_to_dict(result.resistance),
    }
