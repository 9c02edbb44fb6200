"""Unit conversions, plausibility checks and BMI (screening/domain/units.py)."""

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.screening.domain.units import (
    CM_PER_IN,
    KG_PER_LB,
    FactError,
    bmi,
    height_to_cm,
    weight_to_kg,
)

SYNTHEA = Path(__file__).resolve().parents[3] / "fixtures" / "external" / "synthea"

# Exact by definition: 1 lb = 0.45359237 kg, 1 in = 2.54 cm.
WEIGHTS = [
    ("150", "lb", Decimal("68.0388555")),
    ("220.5", "lb", Decimal("100.017117585")),
    ("100", "LBS", Decimal("45.359237")),
    ("70", "kg", Decimal("70")),
    (" 70.25 ", "KG", Decimal("70.25")),
    (Decimal("88.8"), "kg", Decimal("88.8")),
    (95, "kg", Decimal("95")),
]

HEIGHTS = [
    ("70", "in", Decimal("177.80")),
    ("60", "inches", Decimal("152.40")),
    ("72.5", "in", Decimal("184.150")),
    ("175", "cm", Decimal("175")),
    (Decimal("162.5"), "CM", Decimal("162.5")),
]


def test_conversion_factors_are_the_exact_international_definitions():
    assert KG_PER_LB == Decimal("0.45359237")
    assert CM_PER_IN == Decimal("2.54")


@pytest.mark.parametrize(("value", "unit", "kg"), WEIGHTS)
def test_weight_converts_exactly_to_kilograms(value, unit, kg):
    result = weight_to_kg(value, unit)
    assert isinstance(result, Decimal)
    assert result == kg


@pytest.mark.parametrize(("value", "unit", "cm"), HEIGHTS)
def test_height_converts_exactly_to_centimetres(value, unit, cm):
    result = height_to_cm(value, unit)
    assert isinstance(result, Decimal)
    assert result == cm


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=50, max_value=800, places=2))
def test_pounds_round_trip_without_any_loss(pounds):
    kg = weight_to_kg(pounds, "lb")
    assert kg == pounds * Decimal("0.45359237")
    assert kg / KG_PER_LB == pounds


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=36, max_value=98, places=2))
def test_inches_round_trip_without_any_loss(inches):
    cm = height_to_cm(inches, "in")
    assert cm == inches * Decimal("2.54")
    assert cm / CM_PER_IN == inches


BAD_INPUT = [
    # (converter, value, unit, field, words the message must contain)
    (weight_to_kg, "0", "kg", "weight_kg", "outside the plausible range"),
    (weight_to_kg, "700", "kg", "weight_kg", "outside the plausible range"),
    (weight_to_kg, "-5", "kg", "weight_kg", "outside the plausible range"),
    (weight_to_kg, "440", "kg", "weight_kg", "entered in lb"),
    (weight_to_kg, "1000", "lb", "weight_kg", "outside the plausible range"),
    (weight_to_kg, "abc", "kg", "weight_kg", "not a number"),
    (weight_to_kg, "NaN", "kg", "weight_kg", "not a finite number"),
    (weight_to_kg, 70.5, "kg", "weight_kg", "not a float"),
    (weight_to_kg, True, "kg", "weight_kg", "not a float"),
    (weight_to_kg, "70", "st", "weight_kg", "unknown weight unit"),
    (height_to_cm, "70", "cm", "height_cm", "entered in inches"),
    (height_to_cm, "180", "in", "height_cm", "entered in cm but labelled inches"),
    (height_to_cm, "5.9", "ft", "height_cm", "unknown height unit"),
    (height_to_cm, "Infinity", "cm", "height_cm", "not a finite number"),
    (height_to_cm, "0", "cm", "height_cm", "outside the plausible range"),
]


@pytest.mark.parametrize(("convert", "value", "unit", "field", "words"), BAD_INPUT)
def test_bad_measurements_are_refused_with_a_field_specific_message(convert, value, unit, field, words):
    with pytest.raises(FactError) as caught:
        convert(value, unit)
    assert caught.value.field == field
    assert words in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_the_field_name_can_be_chosen_by_the_form():
    with pytest.raises(FactError) as caught:
        weight_to_kg("0", "kg", field="weight")
    assert caught.value.field == "weight"


@pytest.mark.parametrize(
    ("weight_kg", "height_cm", "expected"),
    [
        ("70", "175", "22.9"),
        ("100", "200", "25.0"),
        ("45", "160", "17.6"),
        ("150", "180", "46.3"),
        ("50.25", "100", "50.3"),  # exactly halfway: rounds half up, not to even (50.2)
        ("68.0388555", "177.8", "21.5"),  # 150 lb, 70 in
    ],
)
def test_bmi_is_kg_per_square_metre_to_one_decimal(weight_kg, height_cm, expected):
    assert bmi(Decimal(weight_kg), Decimal(height_cm)) == Decimal(expected)


def test_bmi_refuses_implausible_inputs():
    with pytest.raises(FactError) as caught:
        bmi(Decimal("70"), Decimal("70"))
    assert caught.value.field == "height_cm"


def _synthea_measurements():
    """(weight kg, height cm, BMI) recorded at the same encounter in the Synthea fixtures, as Decimals."""
    rows = []
    for path in sorted(SYNTHEA.glob("*.json")):
        bundle = json.loads(path.read_text(), parse_float=Decimal)
        by_encounter = defaultdict(dict)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Observation" and "valueQuantity" in resource:
                loinc = resource["code"]["coding"][0]["code"]
                if loinc in ("29463-7", "8302-2", "39156-5"):
                    by_encounter[resource["encounter"]["reference"]][loinc] = resource["valueQuantity"]
        for found in by_encounter.values():
            if len(found) == 3:
                assert found["29463-7"]["code"] == "kg" and found["8302-2"]["code"] == "cm"
                rows.append((found["29463-7"]["value"], found["8302-2"]["value"], found["39156-5"]["value"]))
    return rows


def test_bmi_agrees_with_the_bmi_synthea_recorded_for_the_same_encounter():
    rows = [row for row in _synthea_measurements() if Decimal(20) <= row[0] and Decimal(90) <= row[1]]
    assert len(rows) >= 5
    for weight_kg, height_cm, recorded in rows:
        # Synthea rounds its inputs and its BMI independently; ours is rounded to 0.1.
        assert abs(bmi(Decimal(weight_kg), Decimal(height_cm)) - Decimal(recorded)) <= Decimal("0.1")
