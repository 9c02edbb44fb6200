"""Importing public FHIR R4 Questionnaires (fixtures/external/questionnaires, PROVENANCE.md §1).

The LHC-Forms PHQ-9 must score exactly like the built-in phq-9 (docs/domain/instruments.md §1.2) on every
external vector and on random answers.
"""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.instruments.domain.fhir import import_fhir_questionnaire, load_definition
from ketacare.instruments.domain.model import InvalidDefinition, ScoreStatus
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.tests.support import (
    by_position,
    fixture_json,
    item_value,
    shipped,
    vector_answers,
    vectors,
)

PHQ9_FORMS = ["lforms_phq9_R4.json", "lforms_phq9_weight-function_R4.json", "uscore_Questionnaire_phq-9-example.json"]


def _imported(name, key=None):
    builtin = {"phq": shipped()["phq-9"], "gad": shipped()["gad-7"]}
    family = "gad" if "gad" in name.lower() else "phq"
    return import_fhir_questionnaire(fixture_json(name), key, bands=builtin[family].bands), builtin[family]


def _same_result(imported_score, builtin_score):
    assert imported_score.status == builtin_score.status
    assert imported_score.total == builtin_score.total
    assert imported_score.band == builtin_score.band
    assert imported_score.missing == builtin_score.missing


def test_lforms_phq9_imports_nine_scored_items_and_drops_the_calculated_total():
    instrument = import_fhir_questionnaire(fixture_json("lforms_phq9_R4.json"))
    assert instrument.key == "phq-9-quick-depression-assessment-panel"  # no id: derived from the name
    assert [i.link_id for i in instrument.scored_items] == [i.link_id for i in shipped()["phq-9"].scored_items]
    assert "/44261-6" not in {i.link_id for i in instrument.items}  # calculatedExpression item
    assert not instrument.item("/69722-7").scored  # difficulty: no weights
    assert instrument.total_range == (0, 27)
    assert instrument.code == "44249-1"


@pytest.mark.parametrize("form", PHQ9_FORMS)
@pytest.mark.parametrize("vector", [v for v in vectors() if v["instrument"] == "PHQ-9"], ids=lambda v: v["id"])
def test_imported_phq9_scores_every_vector_like_the_builtin(form, vector):
    imported, builtin = _imported(form)
    for by in ("weight", "code"):
        if by == "code" and not all(a["answer_code"].startswith("LA") for a in vector["answers"]):
            continue
        _same_result(
            score(imported, vector_answers(imported, vector, by=by)),
            score(builtin, vector_answers(builtin, vector, by=by)),
        )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_imported_lforms_phq9_matches_the_builtin_on_random_answers(data):
    imported, builtin = _imported("lforms_phq9_R4.json")
    answers = {}
    for item in builtin.items:
        if data.draw(st.integers(0, 9)) > 0:  # mostly answered, sometimes missing
            answers[item.link_id] = data.draw(item_value(item))
    _same_result(score(imported, answers), score(builtin, answers))


@pytest.mark.parametrize("form", ["cirg_Questionnaire_GAD7.json", "researchkitonfhir_Questionnaire_GAD-7.json"])
@pytest.mark.parametrize("vector", [v for v in vectors() if v["instrument"] == "GAD-7"], ids=lambda v: v["id"])
def test_imported_gad7_scores_every_vector_like_the_builtin(form, vector):
    imported, builtin = _imported(form)
    answers = vector_answers(builtin, vector, by="weight")
    # The ResearchKit form has UUID linkIds and its own codes: answers are matched by position and ordinal.
    _same_result(score(imported, by_position(answers, builtin, imported)), score(builtin, answers))


def test_sdc_phq9_reads_weights_from_a_contained_value_set_and_recomputes_the_total():
    imported, _ = _imported("sdc_Questionnaire_PHQ9.json")
    assert len(imported.scored_items) == 9  # the H1/T1 group is flattened, the H1/TS total dropped
    (vector,) = [v for v in vectors() if v["id"].startswith("sdc-")]
    by_code = score(imported, vector_answers(imported, vector, by="code"))
    assert by_code.total == 10  # the items' ordinals; the QR's stated 13 is not trusted
    assert by_code.band == "moderate"


def test_a_questionnaire_without_weights_cannot_be_imported():
    with pytest.raises(InvalidDefinition, match="no item has weighted options"):
        import_fhir_questionnaire(fixture_json("fhir-r4-core_Questionnaire_phq-9-questionnaire.json"))


def test_import_without_a_band_table_gives_totals_but_no_band():
    instrument = import_fhir_questionnaire(fixture_json("cirg_Questionnaire_GAD7.json"), "gad-7-cirg")
    result = score(instrument, [3] * 7)
    assert instrument.key == "gad-7-cirg"
    assert (result.total, result.band) == (21, None)


def _minimal(option_key: str, extension_url: str, on_coding: bool = False):
    def option(code, weight):
        weight_extension = [{"url": extension_url, "valueDecimal": weight}]
        coding = {"code": code} | ({"extension": weight_extension} if on_coding else {})
        return {"valueCoding": coding} | ({} if on_coding else {"extension": weight_extension})

    return {
        "resourceType": "Questionnaire",
        "id": "mini",
        "item": [
            {"linkId": "intro", "type": "display", "text": "Hello"},
            {"linkId": "q1", "type": "choice", option_key: [option("a", 0), option("b", 2.5)]},
            {"linkId": "q2", "type": "string"},
        ],
    }


@pytest.mark.parametrize(
    ("option_key", "url", "on_coding"),
    [
        ("answerOption", "http://hl7.org/fhir/StructureDefinition/itemWeight", False),
        ("answerOption", "http://hl7.org/fhir/StructureDefinition/ordinalValue", True),
        ("option", "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value", False),  # STU3-era LHC-Forms
    ],
)
def test_weight_extension_variants_are_read(option_key, url, on_coding):
    instrument = import_fhir_questionnaire(_minimal(option_key, url, on_coding))
    assert [i.link_id for i in instrument.items] == ["q1", "q2"]
    result = score(instrument, {"q1": "b", "q2": "free text is recorded, not scored"})
    assert result.total == 2.5
    assert result.status is ScoreStatus.COMPLETE


def test_an_unweighted_option_on_a_scored_item_leaves_the_score_incomplete():
    resource = _minimal("answerOption", "http://hl7.org/fhir/StructureDefinition/ordinalValue")
    resource["item"][1]["answerOption"].append({"valueCoding": {"code": "prefer-not-to-say"}})
    result = score(import_fhir_questionnaire(resource), {"q1": "prefer-not-to-say"})
    assert result.status is ScoreStatus.INCOMPLETE and result.missing == ("q1",)


def test_load_definition_refuses_a_foreign_questionnaire():
    with pytest.raises(InvalidDefinition, match="import_fhir_questionnaire"):
        load_definition(fixture_json("lforms_phq9_R4.json"))


def test_import_does_not_modify_the_resource():
    resource = fixture_json("lforms_phq9_R4.json")
    before = copy.deepcopy(resource)
    import_fhir_questionnaire(resource)
    assert resource == before


def test_a_malformed_questionnaire_is_refused_as_invalid_definition():
    resource = _minimal("answerOption", "http://hl7.org/fhir/StructureDefinition/ordinalValue")
    del resource["item"][1]["linkId"]
    with pytest.raises(InvalidDefinition, match="malformed"):
        import_fhir_questionnaire(resource)
