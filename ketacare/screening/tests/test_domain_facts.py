"""Intake facts: three-valued facts, diagnosis evidence, and refusal of bad input (screening/domain/facts.py)."""

from datetime import date
from decimal import Decimal

import pytest

from ketacare.screening.domain.facts import (
    FACT_NAMES,
    CssrsRisk,
    IntakeFacts,
    InvalidFacts,
    age_years,
    require_valid,
    validate_facts,
)
from ketacare.screening.domain.resistance import Response, TreatmentTrial, TrialKind

TODAY = date(2026, 7, 1)


def test_every_fact_defaults_to_not_recorded():
    facts = IntakeFacts()
    assert all(getattr(facts, name) is None for name in FACT_NAMES)
    assert validate_facts(facts, today=TODAY) == ()


def test_facts_are_immutable():
    with pytest.raises(AttributeError):
        IntakeFacts().pregnant = True


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(2008, 7, 1), date(2026, 7, 1), 18),  # birthday today
        (date(2008, 7, 2), date(2026, 7, 1), 17),  # birthday tomorrow
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # leap-day birthday, not yet reached
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(1950, 12, 31), date(2026, 1, 1), 75),
    ],
)
def test_age_is_completed_years(born, today, age):
    assert age_years(born, today) == age


def test_a_recorded_diagnosis_is_evidence_that_the_condition_is_present():
    facts = IntakeFacts(diagnoses=("F33.1", "Q28.2"))
    assert facts.condition("arteriovenous_malformation") is True
    assert facts.condition("aneurysmal_vascular_disease") is None  # not recorded either way
    assessed = IntakeFacts(diagnoses=(), aneurysmal_vascular_disease=False)
    assert assessed.condition("aneurysmal_vascular_disease") is False


def trial(**overrides):
    values = dict(
        name="sertraline",
        kind=TrialKind.ORAL_ANTIDEPRESSANT,
        duration_weeks=8,
        adequate=True,
        response=Response.NONE,
        current_episode=True,
    )
    values.update(overrides)
    return TreatmentTrial(**values)


BAD_INPUT = [
    # (changes, field, words the message must contain)
    ({"weight_kg": Decimal("0")}, "weight_kg", "outside the plausible range"),
    ({"weight_kg": Decimal("700")}, "weight_kg", "outside the plausible range"),
    ({"weight_kg": 70.0}, "weight_kg", "finite Decimal"),
    ({"weight_kg": Decimal("NaN")}, "weight_kg", "finite Decimal"),
    ({"height_cm": Decimal("70")}, "height_cm", "entered in inches"),
    ({"height_cm": Decimal("457.2")}, "height_cm", "labelled inches"),
    ({"date_of_birth": date(2026, 7, 2)}, "date_of_birth", "in the future"),
    ({"date_of_birth": date(1900, 1, 1)}, "date_of_birth", "more than 120 years ago"),
    ({"date_of_birth": "1980-01-01"}, "date_of_birth", "is not a date"),
    ({"diagnoses": ("F33.1", "F99.99")}, "diagnoses", "not in KetaCare's curated table"),
    ({"diagnoses": ("banana",)}, "diagnoses", "is not an ICD-10-CM code"),
    ({"diagnoses": "F41.1"}, "diagnoses", "must be a tuple"),
    ({"systolic_mmhg": 80, "diastolic_mmhg": 120}, "diastolic_mmhg", "were they swapped"),
    ({"systolic_mmhg": 400}, "systolic_mmhg", "outside 50-300"),
    ({"diastolic_mmhg": 10}, "diastolic_mmhg", "outside 20-200"),
    ({"systolic_mmhg": 120.5}, "systolic_mmhg", "whole number"),
    ({"heart_rate_bpm": 0}, "heart_rate_bpm", "outside 20-250"),
    ({"phq9_total": 28}, "phq9_total", "outside 0-27"),
    ({"phq9_item9": 4}, "phq9_item9", "outside 0-3"),
    ({"phq9_total": 2, "phq9_item9": 3}, "phq9_item9", "cannot exceed the PHQ-9 total"),
    ({"bprs_positive_max_item": 0}, "bprs_positive_max_item", "outside 1-7"),
    ({"cssrs_risk": "high"}, "cssrs_risk", "not a C-SSRS risk level"),
    ({"psychosis_current": True, "psychosis_history": False}, "psychosis_current", "psychosis_history"),
    ({"mania_current": True, "mania_or_bipolar_history": False}, "mania_current", "mania_or_bipolar_history"),
    (
        {"substance_use_disorder_current": True, "substance_use_disorder_history": False},
        "substance_use_disorder_current",
        "substance_use_disorder_history",
    ),
    ({"hypertension_uncontrolled": True, "hypertension": False}, "hypertension_uncontrolled", "hypertension"),
    ({"diagnoses": ("I67.1",), "aneurysmal_vascular_disease": False}, "aneurysmal_vascular_disease", "diagnosis I67.1"),
    ({"diagnoses": ("F20.9",), "psychosis_history": False}, "psychosis_history", "diagnosis F20.9"),
    (
        {"takes_benzodiazepine": False, "benzodiazepine_lorazepam_eq_mg_per_day": Decimal("2")},
        "benzodiazepine_lorazepam_eq_mg_per_day",
        "takes_benzodiazepine is False",
    ),
    ({"benzodiazepine_lorazepam_eq_mg_per_day": Decimal("-1")}, "benzodiazepine_lorazepam_eq_mg_per_day", "0 or more"),
    ({"prior_trials": (trial(duration_weeks=-2),)}, "prior_trials[0].duration_weeks", "0 or more"),
    ({"prior_trials": (trial(), trial(name=" "))}, "prior_trials[1].name", "is empty"),
    ({"prior_trials": (trial(dose_mg_per_day=Decimal("-50")),)}, "prior_trials[0].dose_mg_per_day", "0 or more"),
]


@pytest.mark.parametrize(("changes", "field", "words"), BAD_INPUT, ids=[row[1] for row in BAD_INPUT])
def test_bad_input_is_refused_with_a_field_specific_message(changes, field, words):
    facts = IntakeFacts(**changes)
    errors = validate_facts(facts, today=TODAY)
    assert [error.field for error in errors] == [field]
    assert words in errors[0].message
    with pytest.raises(InvalidFacts) as caught:
        require_valid(facts, today=TODAY)
    assert [(e.field, e.message) for e in caught.value.errors] == [(e.field, e.message) for e in errors]
    assert caught.value.details == {"fields": [field]}


def test_several_bad_facts_are_all_reported():
    facts = IntakeFacts(weight_kg=Decimal("0"), date_of_birth=date(2030, 1, 1), diagnoses=("X00.0",))
    assert {error.field for error in validate_facts(facts, today=TODAY)} == {"weight_kg", "date_of_birth", "diagnoses"}


@pytest.mark.parametrize(
    "changes",
    [
        {"date_of_birth": TODAY},  # born today: plausible input (eligibility is a rule, not validation)
        {"weight_kg": Decimal("20"), "height_cm": Decimal("250")},  # range ends are inclusive
        {"psychosis_current": True},  # lifetime history not yet recorded: not a contradiction
        {"diagnoses": ("I67.1",), "aneurysmal_vascular_disease": True},
        {"takes_benzodiazepine": True, "benzodiazepine_lorazepam_eq_mg_per_day": Decimal("0.5")},
        {"takes_benzodiazepine": False, "benzodiazepine_lorazepam_eq_mg_per_day": Decimal("0")},
        {"phq9_total": 3, "phq9_item9": 3, "cssrs_risk": CssrsRisk.HIGH},
        {"prior_trials": ()},
    ],
)
def test_plausible_input_is_accepted(changes):
    assert validate_facts(IntakeFacts(**changes), today=TODAY) == ()
