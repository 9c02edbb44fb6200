"""Snapshots of facts and results (domain/snapshot.py): lossless, deterministic, JSON-safe."""

import json
from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings

from ketacare.screening.domain.facts import IntakeFacts
from ketacare.screening.domain.rules import Route, evaluate
from ketacare.screening.domain.snapshot import facts_digest, facts_from_dict, facts_to_dict, result_to_dict
from ketacare.screening.tests.test_domain_rules import CLEAN, PARAMS, TODAY
from ketacare.screening.tests.test_domain_rules_properties import valid_facts


@settings(max_examples=150, deadline=None)
@given(valid_facts)
def test_facts_survive_a_json_round_trip_exactly(facts):
    data = json.loads(json.dumps(facts_to_dict(facts)))
    assert facts_from_dict(data) == facts
    assert facts_digest(facts_from_dict(data)) == facts_digest(facts)


def test_digest_changes_with_any_fact_and_ignores_nothing():
    assert facts_digest(CLEAN) == facts_digest(replace(CLEAN))
    assert facts_digest(CLEAN) != facts_digest(replace(CLEAN, pregnant=None))
    assert facts_digest(IntakeFacts()) != facts_digest(IntakeFacts(diagnoses=()))


def test_result_snapshot_keeps_every_finding_with_its_citation():
    result = evaluate(CLEAN, Route.IV_KETAMINE, PARAMS, TODAY)
    snapshot = json.loads(json.dumps(result_to_dict(result)))
    assert snapshot["status"] == "eligible" and snapshot["ruleset_version"] == result.ruleset_version
    assert [f["rule_code"] for f in snapshot["findings"]] == [f.rule_code for f in result.findings]
    assert all(f["citation"].startswith("docs/domain/") for f in snapshot["findings"])


def test_dosing_weight_message_rounds_for_reading_only():
    facts = replace(CLEAN, weight_kg=Decimal("165") * Decimal("0.45359237"))
    (finding,) = evaluate(facts, Route.IV_KETAMINE, PARAMS, TODAY).findings
    assert finding.message.startswith("Weight 74.8 kg, BMI 24.4:")
    assert facts_to_dict(facts)["weight_kg"] == "74.84274105"
