"""Safe Harbor helpers against the rules in docs/domain/privacy.md §2."""

import hashlib
import hmac
import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.outcomes.domain.deid import (
    PREAMBLE_2002_RESTRICTED_ZIP3,
    SAFE_HARBOR,
    SafeHarborRules,
    age_bucket,
    age_years,
    birth_year,
    research_id,
    year_only,
    zip3,
)

SECRET = b"k" * 32

# The 17 prefixes privacy.md §2 lists from the 2002 preamble.
PRIVACY_MD_PREFIXES = "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893".split()


def test_restricted_prefixes_are_the_privacy_md_list():
    assert sorted(PREAMBLE_2002_RESTRICTED_ZIP3) == PRIVACY_MD_PREFIXES


@pytest.mark.parametrize(
    ("zip_code", "shown"),
    [
        ("10001", "100"),
        ("10001-1234", "100"),
        ("100011234", "100"),
        (" 06511 ", "065"),
        ("03601", "000"),  # restricted
        ("10201", "000"),
        ("89301-0001", "000"),
        ("05901", "000"),
        ("05801", "058"),  # neighbour of a restricted prefix
    ],
)
def test_zip_is_cut_to_three_digits_or_000(zip_code, shown):
    assert zip3(zip_code) == shown


@pytest.mark.parametrize("bad", ["1234", "123456", "ABCDE", "", "1000-1234"])
def test_malformed_zip_is_rejected_not_guessed(bad):
    with pytest.raises(ValueError):
        zip3(bad)


def test_restricted_zip_list_can_be_replaced_from_new_census_data():
    rules = SafeHarborRules(restricted_zip3=frozenset({"100"}))
    assert zip3("10001", rules=rules) == "000"
    assert zip3("03601", rules=rules) == "036"


def test_dates_keep_only_the_year():
    assert year_only(date(2026, 3, 2)) == 2026
    assert year_only(datetime(2025, 12, 31, 23, 59, tzinfo=UTC)) == 2025


@pytest.mark.parametrize(
    ("birth_on", "on", "age"),
    [
        (date(1980, 6, 15), date(2026, 6, 14), 45),
        (date(1980, 6, 15), date(2026, 6, 15), 46),
        (date(2000, 2, 29), date(2001, 2, 28), 0),
        (date(2000, 2, 29), date(2001, 3, 1), 1),
    ],
)
def test_age_in_completed_years(birth_on, on, age):
    assert age_years(birth_on, on) == age


@pytest.mark.parametrize(
    ("age", "width", "label"),
    [
        (0, 1, "0"),
        (47, 1, "47"),
        (89, 1, "89"),
        (90, 1, "90+"),
        (104, 1, "90+"),
        (47, 5, "45-49"),
        (89, 5, "85-89"),
        (90, 5, "90+"),
        (86, 7, "84-89"),  # a band never reaches past 89
        (18, 10, "10-19"),
    ],
)
def test_age_buckets_collapse_everyone_over_89(age, width, label):
    assert age_bucket(age, width=width) == label


def test_birth_year_is_withheld_when_it_implies_an_age_over_89():
    assert birth_year(date(1935, 6, 15), on=date(2025, 6, 14)) == 1935  # 89
    assert birth_year(date(1935, 6, 15), on=date(2025, 6, 15)) is None  # 90


@settings(max_examples=200, deadline=None)
@given(age=st.integers(min_value=0, max_value=130), width=st.integers(min_value=1, max_value=20))
def test_no_age_label_reveals_an_age_over_89(age, width):
    label = age_bucket(age, width=width)
    numbers = [int(n) for n in re.findall(r"\d+", label)]
    assert label == SAFE_HARBOR.oldest_label or max(numbers) <= 89
    if label != SAFE_HARBOR.oldest_label:
        assert numbers[0] <= age <= numbers[-1]


def test_research_id_is_hmac_sha256_of_length_prefixed_ids():
    expected = hmac.new(SECRET, b"2:121:3", hashlib.sha256).hexdigest()[:16]
    assert research_id(SECRET, "12", "3") == expected
    assert research_id(SECRET, 12, 3) == expected
    assert re.fullmatch(r"[0-9a-f]{16}", expected)


def test_research_id_separates_clinics_patients_and_keys():
    ids = {
        research_id(SECRET, "1", "23"),
        research_id(SECRET, "12", "3"),
        research_id(SECRET, "2", "23"),
        research_id(b"j" * 32, "1", "23"),
    }
    assert len(ids) == 4
    assert research_id(SECRET, "1", "23") == research_id(SECRET, "1", "23")
    assert len(research_id(SECRET, "1", "23", length=64)) == 64


def test_research_id_refuses_a_weak_key():
    with pytest.raises(ValueError, match="32 bytes"):
        research_id(b"short", "1", "2")
