"""Curated ICD-10-CM table, normalization and refusal of unknown codes (screening/domain/icd10.py)."""

import pytest

from ketacare.screening.domain.icd10 import CODE_FORMAT, TABLE, Category, categories_of, lookup, normalize
from ketacare.screening.domain.units import FactError

# Codes the intake issue names explicitly, with the category the screening rules rely on.
NAMED_IN_ISSUE = [
    ("F40.10", Category.SOCIAL_ANXIETY),
    ("F40.11", Category.SOCIAL_ANXIETY),
    ("F41.1", Category.GENERALIZED_ANXIETY),
    ("F41.0", Category.PANIC),
    ("F41.9", Category.ANXIETY_OTHER),
    ("F32.1", Category.MDD),
    ("F33.2", Category.MDD),
    ("F43.10", Category.PTSD),
    ("F43.12", Category.PTSD),
    ("F31.81", Category.BIPOLAR),
    ("F20.9", Category.PSYCHOSIS),
    ("F29", Category.PSYCHOSIS),
    ("F16.20", Category.SUBSTANCE_USE),
    ("F10.20", Category.SUBSTANCE_USE),
    ("I10", Category.HYPERTENSION),
    ("I67.1", Category.ANEURYSM),
    ("I71.43", Category.ANEURYSM),
    ("I72.0", Category.ANEURYSM),
    ("Q28.2", Category.AVM),
    ("I61.9", Category.INTRACEREBRAL_HEMORRHAGE),
    ("G93.2", Category.RAISED_ICP),
]


@pytest.mark.parametrize(("code", "category"), NAMED_IN_ISSUE)
def test_codes_named_in_the_issue_are_known_with_their_screening_category(code, category):
    assert category in lookup(code).categories


def test_lookup_returns_the_title():
    entry = lookup("F40.10")
    assert entry.code == "F40.10"
    assert entry.title == "Social phobia, unspecified"


def test_psychotic_depression_counts_as_both_mdd_and_psychosis():
    assert lookup("F33.3").categories == {Category.MDD, Category.PSYCHOSIS}


def test_unspecified_depression_is_not_counted_as_major_depressive_disorder():
    assert Category.MDD not in lookup("F32.A").categories


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [(" f41.1 ", "F41.1"), ("F4010", "F40.10"), ("r45851", "R45.851"), ("I10", "I10"), ("f32.a", "F32.A")],
)
def test_codes_are_normalized(raw, normalized):
    assert normalize(raw) == normalized
    assert lookup(raw).code == normalized


@pytest.mark.parametrize("raw", ["", "F4", "123.4", "F40.10000", "FF0.1", "F40-10", "F40."])
def test_malformed_codes_are_refused_for_the_diagnoses_field(raw):
    with pytest.raises(FactError) as caught:
        lookup(raw)
    assert caught.value.field == "diagnoses"
    assert "is not an ICD-10-CM code" in caught.value.message


@pytest.mark.parametrize("raw", ["F99", "F40.19", "Z00.00"])
def test_well_formed_codes_outside_the_table_are_refused(raw):
    with pytest.raises(FactError) as caught:
        lookup(raw)
    assert caught.value.field == "diagnoses"
    assert "not in KetaCare's curated table" in caught.value.message


def test_every_table_code_is_well_formed_and_already_normalized():
    for code, entry in TABLE.items():
        assert CODE_FORMAT.fullmatch(code), code
        assert normalize(code) == code == entry.code
        assert entry.categories, code
        assert entry.title.strip(), code


def test_categories_of_several_codes_is_their_union():
    assert categories_of(("F33.1", "F40.10", "I10")) == {
        Category.MDD,
        Category.SOCIAL_ANXIETY,
        Category.HYPERTENSION,
    }
    assert categories_of(()) == frozenset()
