"""A clinic's screening thresholds: the parameters the eligibility rules read, what a clinic may choose for each,
and the source of each default (docs/domain/ sections named per parameter). The rules themselves: rules.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ketacare.core.errors import DomainError
from ketacare.screening.domain.facts import BPRS_ITEM, DIASTOLIC_MMHG, MAX_AGE_YEARS, SYSTOLIC_MMHG


class ParamsInvalid(DomainError):
    """A clinic's screening threshold was refused; `errors` maps each refused parameter to the reason."""

    code = "eligibility_params_invalid"
    http_status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()), fields=list(errors))
        self.errors = errors


@dataclass(frozen=True)
class ParamSpec:
    """The values a clinic may choose for one parameter (inclusive), its label and the source of its default."""

    low: int | Decimal
    high: int | Decimal
    label: str
    source: str

    @property
    def fixed(self) -> bool:
        return self.low == self.high


@dataclass(frozen=True)
class EligibilityParams:
    """Screening thresholds. Defaults cite their source; a clinic's medical director may override them within
    `PARAM_SPECS` (a clinic's values are stored by `services.eligibility_params_configure`)."""

    # Adults only: esketamine is not approved for pediatric patients (esketamine-and-rems.md §2 [C]); the IV and
    # SC ketamine anxiety trials enrolled adults (evidence.md §1-§2 [C]).
    min_age_years: int = 18
    # Elevated baseline BP needs a documented risk-benefit decision: PI example "> 140 systolic or > 90
    # diastolic" (esketamine-and-rems.md §6 [S]); the APA 2017 pre-infusion cut-off "around 140/90" is [U]
    # (iv-ketamine.md §3).
    baseline_systolic_caution_above_mmhg: int = 140
    baseline_diastolic_caution_above_mmhg: int = 90
    # TRD: inadequate response to >= 2 oral antidepressants in the current episode (esketamine-and-rems.md §2 [C]).
    trd_min_failed_trials: int = 2
    # Trial exclusion "> 3 mg/day lorazepam-equivalent" (iv-ketamine.md §7 [C]); used as a caution here.
    benzodiazepine_caution_above_lorazepam_eq_mg_per_day: Decimal = Decimal("3")
    # Any PHQ-9 item-9 answer other than "not at all" (>= 1) needs a same-day risk assessment (instruments.md §1.3 [C]).
    phq9_item9_caution_at_least: int = 1
    # BPRS+ item >= 4 (moderate) as an alert is clinic policy [U] (instruments.md §9).
    bprs_positive_item_caution_at_least: int = 4
    # An intake BP at crisis level counts as uncontrolled hypertension: the label has no number; the clinic action
    # threshold "> 180/110" quoted in esketamine-and-rems.md §6 [S] (the same default as the session's BP alert,
    # treatment/domain/vitals.py) is clinic policy.
    bp_crisis_systolic_above_mmhg: int = 180
    bp_crisis_diastolic_above_mmhg: int = 110
    # A myocardial infarction, stroke/TIA, unstable angina, decompensated heart failure or significant arrhythmia
    # this recent is "unstable" disease (iv-ketamine.md §7; esketamine-and-rems.md §4). The sources name no period:
    # 180 days (6 months) is clinic policy [U], to be confirmed by the medical director.
    cv_event_recency_days: int = 180

    def __post_init__(self) -> None:
        errors = {}
        for f in dataclasses.fields(self):
            value: Any = getattr(self, f.name)
            default: Any = f.default
            spec = PARAM_SPECS[f.name]
            if type(value) is not type(default) or (isinstance(value, Decimal) and not value.is_finite()):
                kind = "a number" if isinstance(default, Decimal) else "a whole number"
                errors[f.name] = f"{value!r} must be {kind}"
            elif not spec.low <= value <= spec.high:
                errors[f.name] = (f"must be {spec.low}" if spec.fixed else
                                  f"must be between {spec.low} and {spec.high}") + f" ({spec.source})"
        if errors:
            raise ParamsInvalid(errors)

    def with_overrides(self, overrides: Mapping[str, Any]) -> EligibilityParams:
        """These parameters with a clinic's values (as stored: Decimals may come as strings), validated."""
        known = {f.name: f.default for f in dataclasses.fields(self)}
        if unknown := sorted(set(overrides) - set(known)):
            raise ParamsInvalid(dict.fromkeys(unknown, "is not a screening parameter"))
        values = {}
        for name, value in overrides.items():
            if isinstance(known[name], Decimal) and isinstance(value, (str, int)) and not isinstance(value, bool):
                try:
                    value = Decimal(value)
                except InvalidOperation:
                    raise ParamsInvalid({name: f"{value!r} is not a number"}) from None
            values[name] = value
        return dataclasses.replace(self, **values)

    def overrides(self) -> dict[str, Any]:
        """The values that differ from the cited defaults, JSON-ready (Decimals as strings)."""
        default = EligibilityParams()
        return {f.name: str(v) if isinstance(v, Decimal) else v for f in dataclasses.fields(self)
                if (v := getattr(self, f.name)) != getattr(default, f.name)}


# What a clinic may choose, with the source of each default. Where a source sets a floor (a label definition, a
# safety-critical rule) a clinic may be stricter but never laxer than the source; elsewhere the range only keeps out
# typos (the plausibility ranges of domain/facts.py).
PARAM_SPECS: dict[str, ParamSpec] = {
    "min_age_years": ParamSpec(
        18, MAX_AGE_YEARS, "Minimum age (years)",
        "esketamine-and-rems.md §2 [C]: not approved for pediatric patients (the floor); evidence.md §1-§2 [C]: "
        "the ketamine anxiety trials enrolled adults"),
    "baseline_systolic_caution_above_mmhg": ParamSpec(
        SYSTOLIC_MMHG.low, SYSTOLIC_MMHG.high, "Baseline systolic BP: caution above (mmHg)",
        "esketamine-and-rems.md §6 [S]: the PI's example > 140/90; iv-ketamine.md §3 [U]: APA about 140/90"),
    "baseline_diastolic_caution_above_mmhg": ParamSpec(
        DIASTOLIC_MMHG.low, DIASTOLIC_MMHG.high, "Baseline diastolic BP: caution above (mmHg)",
        "esketamine-and-rems.md §6 [S]: the PI's example > 140/90; iv-ketamine.md §3 [U]: APA about 140/90"),
    "trd_min_failed_trials": ParamSpec(
        2, 10, "Failed oral antidepressant trials for TRD",
        "esketamine-and-rems.md §2 [C]: the label's TRD definition, at least two (the floor)"),
    "benzodiazepine_caution_above_lorazepam_eq_mg_per_day": ParamSpec(
        Decimal(0), Decimal(100), "Benzodiazepine: caution above (mg/day lorazepam-equivalent)",
        "iv-ketamine.md §7 [C]: trial exclusion > 3 mg/day"),
    "phq9_item9_caution_at_least": ParamSpec(
        1, 1, "PHQ-9 item 9: caution at or above",
        "instruments.md §1.3 [C]: any answer other than \"not at all\" is safety-critical (fixed)"),
    "bprs_positive_item_caution_at_least": ParamSpec(
        BPRS_ITEM.low, BPRS_ITEM.high, "BPRS+ item: caution at or above",
        "instruments.md §9 [U]: an item >= 4 (moderate) is clinic policy; items are rated 1-7"),
    "bp_crisis_systolic_above_mmhg": ParamSpec(
        140, 200, "Intake systolic BP at crisis level: above (mmHg)",
        "esketamine-and-rems.md §6 [S]: clinic action thresholds > 180/110 (recheck) and > 200/120 (once); no "
        "published label number. Never laxer than 200/120, never stricter than the 140/90 caution"),
    "bp_crisis_diastolic_above_mmhg": ParamSpec(
        90, 120, "Intake diastolic BP at crisis level: above (mmHg)",
        "esketamine-and-rems.md §6 [S]: clinic action thresholds > 180/110 (recheck) and > 200/120 (once); no "
        "published label number. Never laxer than 200/120, never stricter than the 140/90 caution"),
    "cv_event_recency_days": ParamSpec(
        30, 3650, "Recent cardiovascular / cerebrovascular event: within (days)",
        "iv-ketamine.md §7 [C] (unstable cardiac, arrhythmic or cerebrovascular illness excluded) and "
        "esketamine-and-rems.md §4 [C] (a BP rise posing a serious risk); no published period: the default of 180 "
        "days is clinic policy [U]"),
}


# Parameters whose default no source gives a number for (clinic policy, to confirm; core/policy.py).
NO_PUBLISHED_NUMBER: frozenset[str] = frozenset({
    "bp_crisis_systolic_above_mmhg", "bp_crisis_diastolic_above_mmhg", "cv_event_recency_days",
    "bprs_positive_item_caution_at_least",
})
