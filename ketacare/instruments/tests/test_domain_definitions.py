"""Shipped definition files: they load, are unique, never carry licensed wording, and reject broken data.

Copyright policy: docs/domain/instruments.md (top of file and §0 "Ship item text in OSS?" column).
"""

import json
import re
import shutil
from dataclasses import replace
from decimal import Decimal

import pytest

from ketacare.instruments.domain.fhir import SCORING_EXTENSION_URL, dump_definition, load_definition
from ketacare.instruments.domain.model import Band, InvalidDefinition, MissingRule, RuleKind, SafetyRule, Severity
from ketacare.instruments.domain.registry import (
    DEFINITIONS_DIR,
    apply_licensed_text,
    load_all_versions,
    load_shipped,
)
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.tests.support import shipped

KEYS = {
    "phq-9",
    "gad-7",
    "lsas-sr",
    "lsas-cr",
    "spin",
    "mini-spin",
    "cssrs-screen",
    "cadss-23",
    "cadss-6",
    "moaas",
    "bprs-positive",
    "cgi-s",
    "cgi-i",
    "vas-anxiety",
    "pain-nrs",
}
# instruments.md §0: item text may ship only for PHQ-9, GAD-7 and the generic NRS (and our own VAS wording).
MAY_SHIP_TEXT = {"phq-9", "gad-7", "pain-nrs", "vas-anxiety"}
NEUTRAL_LABEL = re.compile(
    r"^(LSAS item \d+ (fear/anxiety|avoidance)"
    r"|(SPIN|Mini-SPIN|CADSS) item \d+"
    r"|C-SSRS screen Q\d+a?: [a-z0-9 ,/()-]+"
    r"|BPRS\+ item: [a-z ]+"
    r"|MOAA/S level|CGI-S rating|CGI-I rating \(compared with baseline\))$"
)


def _files():
    return sorted(DEFINITIONS_DIR.glob("*.json"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_each_definition_file_loads_and_matches_its_file_name(path):
    instrument = load_definition(json.loads(path.read_text(encoding="utf-8")))
    assert path.name == f"{instrument.key}@{instrument.version}.json"


def test_the_fixed_keys_ship_once_each():
    names = [p.name for p in _files()]
    assert len(names) == len(set(names))
    assert set(load_shipped()) == KEYS
    assert sum(len(v) for v in load_all_versions().values()) == len(names)


@pytest.mark.parametrize("key", sorted(KEYS))
def test_no_licensed_instrument_ships_item_text(key):
    instrument = shipped()[key]
    assert instrument.licensed is (key not in MAY_SHIP_TEXT)
    if instrument.licensed:
        assert instrument.stem is None
        for item in instrument.items:
            assert item.text is None, item.link_id
            assert NEUTRAL_LABEL.match(item.label), item.label
        raw = (DEFINITIONS_DIR / f"{key}@{instrument.version}.json").read_text(encoding="utf-8")
        assert '"text"' not in raw  # nothing hides the wording elsewhere in the file
    labels = [item.label for item in instrument.items]
    assert len(labels) == len(set(labels))


def test_phq9_and_gad7_ship_the_free_item_text():
    # instruments.md §1.1 and §2.1.
    assert shipped()["phq-9"].item("/44260-8").text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert shipped()["gad-7"].item("/69736-7").text == "Feeling afraid, as if something awful might happen"
    assert shipped()["phq-9"].stem.startswith("Over the last 2 weeks")
    assert "Pfizer" in shipped()["phq-9"].text_license


@pytest.mark.parametrize("key", sorted(KEYS))
def test_definitions_round_trip_through_fhir(key):
    instrument = shipped()[key]
    resource = dump_definition(instrument)
    assert resource["resourceType"] == "Questionnaire"
    assert resource["extension"][0]["url"] == SCORING_EXTENSION_URL
    assert load_definition(json.loads(json.dumps(resource))) == instrument


def test_every_threshold_and_definition_names_its_source():
    for instrument in shipped().values():
        assert instrument.source and instrument.missing_rule.source
        assert instrument.bands_source or not instrument.bands
        for criterion in (instrument.response, instrument.remission):
            assert criterion is None or "instruments.md §" in criterion.source


# --- the loader rejects definitions that break an engine rule ------------------------------------------------


def _broken(key, **changes):
    return dump_definition(replace(shipped()[key], **changes))


def _with_item_changes(key, link_id, **changes):
    instrument = shipped()[key]
    items = tuple(replace(i, **changes) if i.link_id == link_id else i for i in instrument.items)
    return dump_definition(replace(instrument, items=items))


BROKEN = {
    "licensed text": lambda: _with_item_changes("lsas-sr", "7.fear", text="copyrighted wording"),
    "band gap": lambda: _broken("phq-9", bands=shipped()["phq-9"].bands[:2] + shipped()["phq-9"].bands[3:]),
    "bands short of the range": lambda: _broken("gad-7", bands=(Band("all", "All", Decimal(0), Decimal(20)),)),
    "proration": lambda: _broken("phq-9", missing_rule=MissingRule("prorate", "made up")),
    "rule without source": lambda: _broken(
        "phq-9", safety_rules=(SafetyRule("x", RuleKind.ITEM_AT_LEAST, Severity.HIGH, "", "/44260-8", Decimal(1)),)
    ),
    "rule on unknown item": lambda: _broken(
        "phq-9",
        safety_rules=(SafetyRule("x", RuleKind.ITEM_AT_LEAST, Severity.HIGH, "§1.3", "/nope", Decimal(1)),),
    ),
    "threshold missing": lambda: _broken(
        "phq-9", safety_rules=(SafetyRule("x", RuleKind.ITEM_AT_LEAST, Severity.HIGH, "§1.3", "/44260-8"),)
    ),
    "reverse but unscored": lambda: _with_item_changes("phq-9", "/69722-7", reverse=True),
    "cssrs items reordered": lambda: _broken("cssrs-screen", items=tuple(reversed(shipped()["cssrs-screen"].items))),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_loader_refuses_a_broken_definition(case):
    with pytest.raises(InvalidDefinition):
        load_definition(BROKEN[case]())


def test_the_loader_refuses_a_definition_without_its_scoring_block():
    resource = dump_definition(shipped()["gad-7"])
    resource["extension"][0]["valueString"] = "{not json"
    with pytest.raises(InvalidDefinition):
        load_definition(resource)


def test_reverse_scored_items_are_scored_from_the_other_end():
    mini = shipped()["mini-spin"]
    items = tuple(replace(i, reverse=True) if i.link_id == "1" else i for i in mini.items)
    reversed_mini = load_definition(dump_definition(replace(mini, items=items)))
    result = score(reversed_mini, [4, 1, 2])
    assert result.item_scores == {"1": 0, "2": 1, "3": 2}
    assert result.total == 3
    assert score(reversed_mini, [0, 1, 2]).total == 7


# --- versions and licensed content ----------------------------------------------------------------------------


def test_the_latest_version_of_each_key_is_shipped(tmp_path):
    for path in _files():
        shutil.copy(path, tmp_path)
    newer = dump_definition(replace(shipped()["gad-7"], version="1.10.0", title="GAD-7 newer"))
    (tmp_path / "gad-7@1.10.0.json").write_text(json.dumps(newer), encoding="utf-8")
    older = dump_definition(replace(shipped()["gad-7"], version="1.2.0"))
    (tmp_path / "gad-7@1.2.0.json").write_text(json.dumps(older), encoding="utf-8")
    assert list(load_all_versions(tmp_path)["gad-7"]) == ["1.0.0", "1.2.0", "1.10.0"]
    assert load_shipped(tmp_path)["gad-7"].title == "GAD-7 newer"


def test_a_file_whose_name_disagrees_with_its_content_is_refused(tmp_path):
    shutil.copy(DEFINITIONS_DIR / "gad-7@1.0.0.json", tmp_path / "gad-7@1.0.1.json")
    with pytest.raises(InvalidDefinition, match="contains gad-7@1.0.0"):
        load_all_versions(tmp_path)


def test_licensed_text_is_applied_without_touching_scoring():
    lsas = shipped()["lsas-sr"]
    licensed = apply_licensed_text(
        lsas,
        {"7.fear": "clinic wording", "7.avoidance": {"text": "more", "options": {"2": {"display": "x", "weight": 2}}}},
    )
    assert licensed.item("7.fear").text == "clinic wording"
    assert licensed.item("7.avoidance").options[2].display == "x"
    assert licensed.item("7.avoidance").options[2].weight == 2
    assert (licensed.key, licensed.version, licensed.bands, licensed.safety_rules) == (
        lsas.key,
        lsas.version,
        lsas.bands,
        lsas.safety_rules,
    )
    assert lsas.item("7.fear").text is None  # the shipped instrument is unchanged


@pytest.mark.parametrize(
    "content",
    [
        {"99.fear": "unknown item"},
        {"7.fear": {"text": "t", "weight": 3}},  # only text and option wording
        {"7.fear": {"options": {"9": "no such option"}}},
        {"7.fear": {"options": {"2": {"display": "moderate", "weight": 3}}}},  # would change the weight
        {"7.fear": {"options": {"2": {"display": "moderate", "weight": True}}}},
        {"7.fear": {"text": 7}},
    ],
)
def test_licensed_text_that_would_change_the_instrument_is_refused(content):
    with pytest.raises(ValueError):
        apply_licensed_text(shipped()["lsas-sr"], content)
