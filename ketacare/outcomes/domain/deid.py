"""De-identification helpers for research exports (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

Source: docs/domain/privacy.md §2: dates reduced to the year; ages over 89, and date elements (including the year)
implying them, aggregated into "90+"; ZIP codes reduced to the first 3 digits, or "000" where the 3-digit area has
20,000 people or fewer (the 17 prefixes from the 2002 preamble are the default list [U — recompute from current
Census data and pass the new set in]).

Research IDs: `research_id` is an HMAC-SHA256 of the clinic and patient ids under a secret key, so the same
patient gets the same pseudonym in every export without a lookup table. Such a code IS derived from information
about the individual, so it is not a §164.514(c) re-identification code as the Safe Harbor text reads (the code must
not be "derived from or related to information about the individual" — NIH Privacy Rule and Research slides,
http://privacyruleandresearch.nih.gov/nih_ppt_priv_rule_and_research_18.asp). Use it for Expert Determination or
Limited Data Set exports, or get the privacy officer's sign-off; never disclose the key.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime

from ketacare.outcomes.domain.stats import suppress

# 67 FR 53182, 53233-53234 (2000 Census), as listed in privacy.md §2 [U].
PREAMBLE_2002_RESTRICTED_ZIP3 = frozenset(
    {
        "036", "059", "063", "102", "203", "556", "692", "790", "821",
        "823", "830", "831", "878", "879", "884", "890", "893",
    }
)  # fmt: skip

_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")


@dataclass(frozen=True)
class SafeHarborRules:
    """The Safe Harbor parameters (privacy.md §2); pass a new `restricted_zip3` when Census data change."""

    max_exact_age: int = 89  # "all ages over 89" are aggregated
    restricted_zip3: frozenset[str] = PREAMBLE_2002_RESTRICTED_ZIP3
    zip3_restricted_code: str = "000"

    @property
    def oldest_label(self) -> str:
        return f"{self.max_exact_age + 1}+"


SAFE_HARBOR = SafeHarborRules()


def year_only(value: date | datetime) -> int:
    """The only element of a date that Safe Harbor keeps."""
    return value.year


def age_years(birth_on: date, on: date) -> int:
    """Completed years of age on a date."""
    if on < birth_on:
        raise ValueError("date is before birth")
    return on.year - birth_on.year - ((on.month, on.day) < (birth_on.month, birth_on.day))


def age_bucket(age: int, *, width: int = 1, rules: SafeHarborRules = SAFE_HARBOR) -> str:
    """Age as a label: "47" (width 1) or "45-49" (width 5); every age over max_exact_age becomes "90+"."""
    if age < 0 or width < 1:
        raise ValueError("age must be >= 0 and width >= 1")
    if age > rules.max_exact_age:
        return rules.oldest_label
    if width == 1:
        return str(age)
    low = age // width * width
    return f"{low}-{min(low + width - 1, rules.max_exact_age)}"


def birth_year(birth_on: date, *, on: date, rules: SafeHarborRules = SAFE_HARBOR) -> int | None:
    """Year of birth, or None when it would reveal an age over 89 on `on` (report the age as "90+" instead)."""
    return None if age_years(birth_on, on) > rules.max_exact_age else birth_on.year


def zip3(zip_code: str, *, rules: SafeHarborRules = SAFE_HARBOR) -> str:
    """The first three digits of a US ZIP (5-digit or ZIP+4), or "000" for a restricted 3-digit area."""
    match = _ZIP.match(zip_code.strip())
    if match is None:
        raise ValueError(f"not a US ZIP code: {zip_code!r}")
    prefix = match.group(1)[:3]
    return rules.zip3_restricted_code if prefix in rules.restricted_zip3 else prefix


def research_id(secret: bytes, clinic_id: str | int, patient_id: str | int, *, length: int = 16) -> str:
    """A stable pseudonymous id: the first `length` hex digits of HMAC-SHA256(secret, clinic id, patient id).

    The ids are length-prefixed so ("1", "23") and ("12", "3") never collide; ints and their str are the same id.
    """
    if len(secret) < 32:
        raise ValueError("the research-id secret must be at least 32 bytes")
    if not 8 <= length <= 64:
        raise ValueError("length must be between 8 and 64 hex digits")
    clinic, patient = str(clinic_id), str(patient_id)
    message = f"{len(clinic)}:{clinic}{len(patient)}:{patient}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:length]


# The research page's cohort table: age bands whose last band ends at Safe Harbor's oldest exact age, then "90+".
AGE_BANDS = ((18, 29), (30, 44), (45, 64), (65, SAFE_HARBOR.max_exact_age))
UNDER_18 = "under 18"
HIDDEN = "hidden"


def age_band(age: int, *, rules: SafeHarborRules = SAFE_HARBOR) -> str:
    """The cohort table's band of an age: "under 18", "18–29" … "65–89", then "90+" (privacy.md §2)."""
    if age > rules.max_exact_age:
        return rules.oldest_label
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}–{high}"
    return UNDER_18


@dataclass(frozen=True)
class CohortRow:
    band: str
    cells: tuple[str, ...]  # one per sex, in the order asked for
    total: str


def cohort_by_age_and_sex(people: list[tuple[int, str]], sexes: list[str], *, min_cell: int,
                          rules: SafeHarborRules = SAFE_HARBOR) -> tuple[list[CohortRow], str]:
    """Counts by age band and sex with small cells suppressed (privacy.md §2), and the grand total.

    `people` are (age in years, sex) pairs. A cell under `min_cell` (zero included) shows as "<11"; a row total next to
    a hidden cell is "hidden" (complementary suppression: the total would reveal the cell by subtraction), and so is
    the grand total when any row total is hidden or small.
    """
    counts: dict[tuple[str, str], int] = {}
    for age, sex in people:
        key = (age_band(age, rules=rules), sex)
        counts[key] = counts.get(key, 0) + 1
    bands = [UNDER_18] + [f"{low}–{high}" for low, high in AGE_BANDS] + [rules.oldest_label]
    rows = []
    for band in bands:
        cells = tuple(str(suppress(counts.get((band, sex), 0), min_cell)) for sex in sexes)
        row_total = sum(counts.get((band, sex), 0) for sex in sexes)
        total = HIDDEN if any(c.startswith("<") for c in cells) else str(suppress(row_total, min_cell))
        rows.append(CohortRow(band, cells, total))
    hidden = any(r.total == HIDDEN or r.total.startswith("<") for r in rows)
    return rows, HIDDEN if hidden else str(suppress(len(people), min_cell))
