"""Published examples, band boundaries and external scoring vectors for every shipped instrument.

Tables are restated from docs/domain/instruments.md (section in each test), not read from the definitions.
"""

import csv
from decimal import Decimal

import pytest

from ketacare.instruments.domain.model import ScoreStatus
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.tests.support import (
    VECTOR_INSTRUMENT,
    VECTORS_CSV,
    answers_for_total,
    shipped,
    vector_answers,
    vectors,
)

LSAS_SET_B = [(0, 29, "minimal"), (30, 49, "mild"), (50, 64, "moderate"), (65, 79, "marked"), (80, 94, "severe"),
              (95, 144, "very-severe")]

# (instrument key, [(low, high, band code)]) as published.
BAND_TABLES = {
    # instruments.md §1.2 (Kroenke 2001)
    "phq-9": [
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately-severe"),
        (20, 27, "severe"),
    ],
    # instruments.md §2.2 (cut-points 5/10/15)
    "gad-7": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
    # instruments.md §3, set B (hiboop), for the self-report and the clinician-rated version alike
    "lsas-sr": LSAS_SET_B,
    "lsas-cr": LSAS_SET_B,
    # instruments.md §4 (Cambio CKM; 20 placed in the lower band, see the definition's bands_source)
    "spin": [(0, 20, "none"), (21, 30, "mild"), (31, 40, "moderate"), (41, 50, "severe"), (51, 68, "very-severe")],
    # instruments.md §5: >= 6 positive screen
    "mini-spin": [(0, 5, "negative"), (6, 12, "positive")],
    # instruments.md §8: 0 loss of consciousness, <= 3 moderate or greater, 4 mild, 5 alert
    "moaas": [(0, 0, "unconscious"), (1, 3, "moderate-or-greater"), (4, 4, "mild"), (5, 5, "alert")],
    # instruments.md §10 (conventional)
    "pain-nrs": [(0, 0, "none"), (1, 3, "mild"), (4, 6, "moderate"), (7, 10, "severe")],
    # instruments.md §11
    "cgi-s": [
        (1, 1, "normal"),
        (2, 2, "borderline"),
        (3, 3, "mild"),
        (4, 4, "moderate"),
        (5, 5, "marked"),
        (6, 6, "severe"),
        (7, 7, "extreme"),
    ],
    "cgi-i": [
        (1, 1, "very-much-improved"),
        (2, 2, "much-improved"),
        (3, 3, "minimally-improved"),
        (4, 4, "no-change"),
        (5, 5, "minimally-worse"),
        (6, 6, "much-worse"),
        (7, 7, "very-much-worse"),
    ],
}

# (key, min total, max total) from instruments.md §0 and the sections named.
RANGES = [
    ("phq-9", 0, 27),
    ("gad-7", 0, 21),
    ("lsas-sr", 0, 144),
    ("lsas-cr", 0, 144),
    ("spin", 0, 68),
    ("mini-spin", 0, 12),
    ("cadss-23", 0, 92),
    ("cadss-6", 0, 24),
    ("moaas", 0, 5),
    ("bprs-positive", 4, 28),
    ("pain-nrs", 0, 10),
    ("cgi-s", 1, 7),
    ("cgi-i", 1, 7),
    ("vas-anxiety", 0, 100),
]

BOUNDARY_CASES = [
    (key, total, code)
    for key, table in BAND_TABLES.items()
    for low, high, code in table
    for total in sorted({low, high})
]


@pytest.mark.parametrize(("key", "total", "band"), BOUNDARY_CASES)
def test_every_band_boundary_matches_the_published_table(key, total, band):
    instrument = shipped()[key]
    values = answers_for_total(instrument, total)
    result = score(instrument, values)
    assert result.status is ScoreStatus.COMPLETE
    assert result.total == total
    assert result.band == band


@pytest.mark.parametrize(("key", "low", "high"), RANGES)
def test_total_range_matches_the_registry(key, low, high):
    assert shipped()[key].total_range == (low, high)


def test_phq9_total_is_items_one_to_nine_and_the_difficulty_item_is_not_added():
    phq9 = shipped()["phq-9"]
    items = [1, 2, 3, 0, 1, 2, 3, 0, 1]  # 13 (instruments.md §1.2: sum of items 1-9)
    without = score(phq9, items)
    with_difficulty = score(phq9, [*items, "LA6574-3"])
    assert without.total == with_difficulty.total == 13
    assert without.band == "moderate"
    assert "/69722-7" not in with_difficulty.item_scores


def test_difficulty_item_codes_follow_the_majority_loinc_mapping():
    # instruments.md §1.1 conflict note: LA6575-0 = Very difficult, LA6574-3 = Extremely difficult.
    difficulty = shipped()["phq-9"].item("/69722-7")
    assert [(o.code, o.display) for o in difficulty.options] == [
        ("LA6572-7", "Not difficult at all"),
        ("LA6573-5", "Somewhat difficult"),
        ("LA6575-0", "Very difficult"),
        ("LA6574-3", "Extremely difficult"),
    ]
    assert not difficulty.scored


def test_loinc_frequency_codes_carry_weights_zero_to_three():
    # instruments.md §1.1: LA6568-5 = 0, LA6569-3 = 1, LA6570-1 = 2, LA6571-9 = 3.
    for key in ("phq-9", "gad-7"):
        for item in shipped()[key].scored_items:
            assert {o.code: o.weight for o in item.options} == {
                "LA6568-5": 0,
                "LA6569-3": 1,
                "LA6570-1": 2,
                "LA6571-9": 3,
            }


def test_answers_by_code_and_by_weight_score_the_same():
    phq9 = shipped()["phq-9"]
    codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9", "LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9", "LA6569-3"]
    assert score(phq9, codes) == score(phq9, [0, 1, 2, 3, 0, 1, 2, 3, 1])


def test_lsas_subscales_are_the_fear_and_avoidance_sums():
    lsas = shipped()["lsas-sr"]
    answers = {f"{n}.fear": 3 for n in range(1, 25)} | {f"{n}.avoidance": 1 for n in range(1, 25)}
    result = score(lsas, answers)
    assert result.subscales == {"fear": 72, "avoidance": 24}
    assert result.total == 96
    assert result.band == "very-severe"


def test_lsas_missing_avoidance_item_keeps_the_complete_fear_subscale_only():
    lsas = shipped()["lsas-cr"]
    answers = {f"{n}.fear": 2 for n in range(1, 25)} | {f"{n}.avoidance": 2 for n in range(1, 24)}
    result = score(lsas, answers)
    assert result.status is ScoreStatus.INCOMPLETE
    assert result.total is None and result.band is None
    assert result.missing == ("24.avoidance",)
    assert result.subscales == {"fear": 48, "avoidance": None}


def test_spin_subscales_partition_the_seventeen_items():
    spin = shipped()["spin"]
    result = score(spin, [n % 5 for n in range(1, 18)])
    assert sum(result.subscales.values()) == result.total
    assert sorted(link for sub in spin.subscales for link in sub.link_ids) == sorted(str(n) for n in range(1, 18))


def test_vas_takes_whole_numbers_from_0_to_100():
    vas = shipped()["vas-anxiety"]
    assert score(vas, [0]).total == 0
    assert score(vas, {"vas": Decimal(100)}).total == 100


# --- external scoring vectors (fixtures/external/scoring-vectors, PROVENANCE.md §6) -----------------------------


def _vector_ids():
    return [v["id"] for v in vectors()]


@pytest.mark.parametrize("vector", vectors(), ids=_vector_ids())
def test_external_scoring_vector(vector):
    instrument = shipped()[VECTOR_INSTRUMENT[vector["instrument"]]]
    by_weight = score(instrument, vector_answers(instrument, vector, by="weight"))
    if all(a["answer_code"].startswith("LA") for a in vector["answers"]):
        assert score(instrument, vector_answers(instrument, vector, by="code")) == by_weight

    scored_answered = {i.link_id for i in instrument.scored_items} & set(by_weight.item_scores)
    if vector["id"] == "asbi-phq9_total_score_case":
        # The source's CQL adds the 8 answered items (12) although item 6 is unanswered. KetaCare never counts a
        # missing item as 0 (instruments.md §1.2): incomplete, but the answered items do add up to 12.
        assert by_weight.status is ScoreStatus.INCOMPLETE
        assert by_weight.total is None
        assert by_weight.missing == ("/44258-2",)
        assert sum(by_weight.item_scores[link] for link in scored_answered) == vector["expected_total"] == 12
    elif vector["expected_total"] is None:
        # Single-item cases: the item score is checked; the total stays incomplete.
        (expected,) = vector["expected"].values()
        (answer,) = vector["answers"]
        item = instrument.item(answer["linkId"])
        assert by_weight.status is ScoreStatus.INCOMPLETE and by_weight.total is None
        if item.scored:
            assert by_weight.item_scores[item.link_id] == expected
        else:  # item 10 (difficulty): recorded, never scored; its LOINC position is the source's score
            assert item.link_id not in by_weight.item_scores
            assert [o.code for o in item.options].index(answer["answer_code"]) == expected
    else:
        # The SDC example states 13 but its items sum to 10 (PROVENANCE.md §1): the engine recomputes.
        expected = vector.get("computed_total_from_items", vector["expected_total"])
        assert by_weight.status is ScoreStatus.COMPLETE
        assert by_weight.total == expected
        if vector["id"].startswith("sdc-"):
            assert by_weight.total != vector["expected_total"]
        if vector["expected_severity"]:
            assert by_weight.band == {"Minimal": "minimal"}[vector["expected_severity"]]


def test_csv_vectors_list_the_same_cases_and_totals_as_the_json():
    with VECTORS_CSV.open(encoding="utf-8") as handle:
        rows = {r["vector_id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == set(_vector_ids())
    for vector in vectors():
        stated = rows[vector["id"]]["expected_total"]
        assert (int(stated) if stated else None) == vector["expected_total"]
