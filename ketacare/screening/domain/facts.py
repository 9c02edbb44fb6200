"""Intake facts used for eligibility screening, and their validation.

Sources: docs/domain/esketamine-and-rems.md §4 (contraindications), §5 (warnings, interacting drugs), §6
(baseline BP), §8.3 (concomitant-medication questions on the REMS form); docs/domain/iv-ketamine.md §3 and §7
(pre-treatment evaluation, trial exclusion criteria); docs/domain/instruments.md §1.3 (PHQ-9 item 9),
§6.2 (C-SSRS screener risk levels) and §9 (BPRS+ items 1-7).

Every fact is optional and three-valued: None means "not yet recorded"; False means "assessed and absent".
Rules treat None as unknown (the result lists it as missing), never as absent. A recorded diagnosis code counts as
evidence that the matching condition is present (e.g. I67.1 -> aneurysmal vascular disease); a condition recorded
as absent while a matching diagnosis is recorded is refused as a contradiction.

Lifetime and current facts come in pairs: `*_history` is lifetime and includes the present, so a current fact
cannot be True while its lifetime fact is False.

Plausibility ranges below are input-sanity bounds (typos, wrong units), not clinical thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeGuard

from ketacare.core import plausible
from ketacare.core.errors import DomainError
from ketacare.screening.domain import icd10
from ketacare.screening.domain.icd10 import Category
from ketacare.screening.domain.resistance import TreatmentTrial
from ketacare.screening.domain.units import FactError, check_height_cm, check_weight_kg


class CssrsRisk(StrEnum):
    """C-SSRS screener triage level (instruments.md §6.2): item-based, never a sum."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


@dataclass(frozen=True)
class IntakeFacts:
    # Person and baseline measurements (SI units; convert with units.weight_to_kg / units.height_to_cm)
    date_of_birth: date | None = None
    weight_kg: Decimal | None = None
    height_cm: Decimal | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None

    # ICD-10-CM codes from icd10.TABLE; () = assessed, no diagnoses
    diagnoses: tuple[str, ...] | None = None
    # Onset (event) dates of recorded diagnoses, as (code, date) pairs; a code without a pair has no recorded date.
    # Needed for the cardiovascular / cerebrovascular event codes (icd10.CV_EVENT_CATEGORIES).
    diagnosis_onsets: tuple[tuple[str, date], ...] | None = None

    # Psychiatric history
    psychosis_history: bool | None = None  # lifetime, includes current
    psychosis_current: bool | None = None
    mania_or_bipolar_history: bool | None = None
    mania_current: bool | None = None
    substance_use_disorder_history: bool | None = None  # lifetime, includes current; alcohol yes, nicotine no
    substance_use_disorder_current: bool | None = None  # incl. acute intoxication or withdrawal
    ketamine_misuse_history: bool | None = None  # non-prescribed ketamine/PCP use beyond rare recreational use
    prior_suicide_attempt: bool | None = None
    suicidal_intent_current: bool | None = None  # clinician-assessed active intent now (instruments.md §6.3)
    lacks_capacity_to_consent: bool | None = None

    # Medical history
    hypertension: bool | None = None
    hypertension_uncontrolled: bool | None = None
    aneurysmal_vascular_disease: bool | None = None  # aorta, intracranial or peripheral arteries
    arteriovenous_malformation: bool | None = None
    intracerebral_hemorrhage_history: bool | None = None
    cardiovascular_disease: bool | None = None  # e.g. ischaemic heart disease, arrhythmia, heart failure
    cerebrovascular_disease: bool | None = None  # e.g. stroke, TIA
    raised_intracranial_pressure: bool | None = None
    hepatic_disease: bool | None = None
    interstitial_cystitis: bool | None = None  # interstitial or ulcerative cystitis (esketamine-and-rems.md §5)
    pregnant: bool | None = None
    breastfeeding: bool | None = None

    # Allergy: hypersensitivity to ketamine, esketamine or any excipient
    hypersensitivity_ketamine: bool | None = None

    # Current medications
    takes_benzodiazepine: bool | None = None
    benzodiazepine_lorazepam_eq_mg_per_day: Decimal | None = None
    takes_stimulant: bool | None = None
    takes_maoi: bool | None = None
    takes_lamotrigine: bool | None = None
    takes_opioid: bool | None = None
    takes_other_sedative: bool | None = None  # non-benzodiazepine sedative hypnotics and other CNS depressants
    # The MDSI indication is esketamine together with an oral antidepressant (esketamine-and-rems.md §2, §3.2);
    # checked by domain/indications.py when that protocol is chosen, never required for TRD (§2 monotherapy).
    takes_oral_antidepressant: bool | None = None

    # Prior treatment trials; () = assessed, none
    prior_trials: tuple[TreatmentTrial, ...] | None = None

    # Baseline questionnaires
    cssrs_risk: CssrsRisk | None = None
    phq9_total: int | None = None
    phq9_item9: int | None = None
    bprs_positive_max_item: int | None = None  # highest of the 4 BPRS+ items, each 1-7; optional at intake

    def onset_of(self, code: str) -> date | None:
        return dict(self.diagnosis_onsets or ()).get(code)

    def diagnosis_categories(self) -> frozenset[Category]:
        return icd10.categories_of(self.diagnoses or ())

    def condition(self, name: str) -> bool | None:
        """A condition fact, counting a matching recorded diagnosis as present."""
        value = getattr(self, name)
        if value is not True and name in _diagnosed_facts(self):
            return True
        return value


FACT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(IntakeFacts))

# Which diagnosis category is evidence for which condition fact.
CONDITION_BY_CATEGORY: dict[Category, str] = {
    Category.ANEURYSM: "aneurysmal_vascular_disease",
    Category.AVM: "arteriovenous_malformation",
    Category.INTRACEREBRAL_HEMORRHAGE: "intracerebral_hemorrhage_history",
    Category.RAISED_ICP: "raised_intracranial_pressure",
    Category.HYPERTENSION: "hypertension",
    Category.HYPERTENSIVE_CRISIS: "hypertension_uncontrolled",  # urgency / emergency is never "controlled"
    Category.CARDIOVASCULAR: "cardiovascular_disease",
    Category.CEREBROVASCULAR: "cerebrovascular_disease",
    Category.HEPATIC: "hepatic_disease",
    Category.CYSTITIS: "interstitial_cystitis",
    Category.PSYCHOSIS: "psychosis_history",
    Category.BIPOLAR: "mania_or_bipolar_history",
    Category.SUBSTANCE_USE: "substance_use_disorder_history",
    Category.PREGNANCY: "pregnant",
    Category.LACTATION: "breastfeeding",
}

# (current or narrower fact, lifetime or broader fact it implies)
IMPLIES: tuple[tuple[str, str], ...] = (
    ("psychosis_current", "psychosis_history"),
    ("mania_current", "mania_or_bipolar_history"),
    ("substance_use_disorder_current", "substance_use_disorder_history"),
    ("hypertension_uncontrolled", "hypertension"),
)


@dataclass(frozen=True)
class Range:
    low: int
    high: int


SYSTOLIC_MMHG = Range(50, 300)
DIASTOLIC_MMHG = Range(20, 200)
HEART_RATE_BPM = Range(20, 250)
PHQ9_TOTAL = Range(0, 27)  # instruments.md §1.2
PHQ9_ITEM = Range(0, 3)  # instruments.md §0
BPRS_ITEM = Range(1, 7)  # instruments.md §9
MAX_AGE_YEARS = 120
# No single trial of one treatment runs ten years; a larger number of weeks is a typo (or a hostile client).
MAX_TRIAL_WEEKS = 520
# Beyond every labelled dose of any psychotropic (mg/day); a larger figure is a unit mistake.
MAX_TRIAL_DOSE_MG_PER_DAY = Decimal(10_000)


class InvalidFacts(DomainError):
    """Some intake facts were refused."""

    code = "invalid_facts"

    def __init__(self, errors: tuple[FactError, ...]) -> None:
        super().__init__("; ".join(str(e) for e in errors), fields=[e.field for e in errors])
        self.errors = errors


def age_years(date_of_birth: date, today: date) -> int:
    """Completed years of age on `today`."""
    had_birthday = (today.month, today.day) >= (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - (0 if had_birthday else 1)


def validate_facts(facts: IntakeFacts, *, today: date) -> tuple[FactError, ...]:
    """Every refused fact with a field-specific message; empty when the facts are acceptable."""
    errors: list[FactError] = []
    errors += _check_date_of_birth(facts.date_of_birth, today)
    errors += _check_decimal("weight_kg", facts.weight_kg, check_weight_kg)
    errors += _check_decimal("height_cm", facts.height_cm, check_height_cm)
    errors += _check_range("systolic_mmhg", facts.systolic_mmhg, SYSTOLIC_MMHG)
    errors += _check_range("diastolic_mmhg", facts.diastolic_mmhg, DIASTOLIC_MMHG)
    errors += _check_range("heart_rate_bpm", facts.heart_rate_bpm, HEART_RATE_BPM)
    if _is_int(facts.systolic_mmhg) and _is_int(facts.diastolic_mmhg) and facts.systolic_mmhg <= facts.diastolic_mmhg:
        errors.append(FactError("diastolic_mmhg", "must be lower than the systolic pressure; were they swapped?"))
    errors += _check_range("phq9_total", facts.phq9_total, PHQ9_TOTAL)
    errors += _check_range("phq9_item9", facts.phq9_item9, PHQ9_ITEM)
    if _is_int(facts.phq9_total) and _is_int(facts.phq9_item9) and facts.phq9_item9 > facts.phq9_total:
        errors.append(FactError("phq9_item9", "cannot exceed the PHQ-9 total"))
    errors += _check_range("bprs_positive_max_item", facts.bprs_positive_max_item, BPRS_ITEM)
    errors += _check_diagnoses(facts)
    errors += _check_diagnosis_onsets(facts, today)
    errors += _check_benzodiazepine_dose(facts)
    errors += _check_prior_trials(facts.prior_trials)
    for narrow, broad in IMPLIES:
        if getattr(facts, narrow) is True and getattr(facts, broad) is False:
            errors.append(FactError(narrow, f"is True but {broad} is recorded as False"))
    if facts.cssrs_risk is not None and not isinstance(facts.cssrs_risk, CssrsRisk):
        errors.append(FactError("cssrs_risk", f"{facts.cssrs_risk!r} is not a C-SSRS risk level"))
    return tuple(errors)


def require_valid(facts: IntakeFacts, *, today: date) -> None:
    if errors := validate_facts(facts, today=today):
        raise InvalidFacts(errors)


def _diagnosed_facts(facts: IntakeFacts) -> frozenset[str]:
    categories = facts.diagnosis_categories()
    return frozenset(name for category, name in CONDITION_BY_CATEGORY.items() if category in categories)


def _check_date_of_birth(dob: date | None, today: date) -> list[FactError]:
    if dob is None:
        return []
    if not isinstance(dob, date):
        return [FactError("date_of_birth", f"{dob!r} is not a date")]
    if dob > today:
        return [FactError("date_of_birth", f"{dob.isoformat()} is in the future")]
    if age_years(dob, today) > MAX_AGE_YEARS:
        return [FactError("date_of_birth", f"{dob.isoformat()} is more than {MAX_AGE_YEARS} years ago")]
    return []


def _check_decimal(field: str, value: Decimal | None, check: Callable[..., None]) -> list[FactError]:
    if value is None:
        return []
    if not isinstance(value, Decimal) or not value.is_finite():
        return [FactError(field, f"{value!r} must be a finite Decimal in SI units")]
    try:
        check(value, field=field)
    except FactError as error:
        return [error]
    return []


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(field: str, value: int | None, allowed: Range) -> list[FactError]:
    if value is None:
        return []
    if not _is_int(value):
        return [FactError(field, f"{value!r} must be a whole number")]
    if not allowed.low <= value <= allowed.high:
        return [FactError(field, f"{value} is outside {allowed.low}-{allowed.high}")]
    return []


def _check_diagnoses(facts: IntakeFacts) -> list[FactError]:
    if facts.diagnoses is None:
        return []
    if isinstance(facts.diagnoses, str) or not isinstance(facts.diagnoses, tuple):
        return [FactError("diagnoses", "must be a tuple of ICD-10-CM codes")]
    errors = []
    for code in facts.diagnoses:
        try:
            icd10.lookup(code)
        except FactError as error:
            errors.append(error)
    if errors:
        return errors
    for code in facts.diagnoses:
        entry = icd10.lookup(code)
        for category in sorted(entry.categories):
            name = CONDITION_BY_CATEGORY.get(category)
            if name is not None and getattr(facts, name) is False:
                errors.append(
                    FactError(name, f"is recorded as False but diagnosis {entry.code} ({entry.title}) is recorded")
                )
    return errors


def _check_diagnosis_onsets(facts: IntakeFacts, today: date) -> list[FactError]:
    field = "diagnosis_onsets"
    onsets = facts.diagnosis_onsets
    if onsets is None:
        return []
    if not isinstance(onsets, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in onsets):
        return [FactError(field, "must be a tuple of (ICD-10-CM code, date) pairs")]
    errors = []
    recorded = set(facts.diagnoses or ())
    seen: set[str] = set()
    for code, on in onsets:
        if not isinstance(on, date):
            errors.append(FactError(field, f"{on!r} (for {code}) is not a date"))
        else:
            try:
                plausible.check_event_date(on, today=today, born_on=facts.date_of_birth)
            except plausible.Implausible as exc:
                errors.append(FactError(field, f"the onset of {code} ({on.isoformat()}): {exc}"))
        if code not in recorded:
            errors.append(FactError(field, f"{code!r} has an onset date but is not a recorded diagnosis"))
        if code in seen:
            errors.append(FactError(field, f"{code} has two onset dates"))
        seen.add(code)
    return errors


def _check_benzodiazepine_dose(facts: IntakeFacts) -> list[FactError]:
    field = "benzodiazepine_lorazepam_eq_mg_per_day"
    dose = facts.benzodiazepine_lorazepam_eq_mg_per_day
    if dose is None:
        return []
    if not isinstance(dose, Decimal) or not dose.is_finite() or dose < 0:
        return [FactError(field, f"{dose!r} must be a Decimal of 0 or more")]
    if dose > 0 and facts.takes_benzodiazepine is False:
        return [FactError(field, "is above 0 but takes_benzodiazepine is False")]
    return []


def _check_prior_trials(trials: tuple[TreatmentTrial, ...] | None) -> list[FactError]:
    if trials is None:
        return []
    errors = []
    for i, trial in enumerate(trials):
        prefix = f"prior_trials[{i}]"
        if not trial.name.strip():
            errors.append(FactError(f"{prefix}.name", "is empty"))
        weeks = trial.duration_weeks
        if weeks is not None and not (_is_int(weeks) and 0 <= weeks <= MAX_TRIAL_WEEKS):
            errors.append(FactError(f"{prefix}.duration_weeks",
                                    f"{weeks!r} must be 0 or more and at most {MAX_TRIAL_WEEKS} weeks"))
        dose = trial.dose_mg_per_day
        if dose is not None and not (isinstance(dose, Decimal) and dose.is_finite()
                                     and 0 <= dose <= MAX_TRIAL_DOSE_MG_PER_DAY):
            errors.append(FactError(f"{prefix}.dose_mg_per_day", f"{dose!r} must be a Decimal of 0 or more and at "
                                                                 f"most {MAX_TRIAL_DOSE_MG_PER_DAY} mg/day"))
    return errors
