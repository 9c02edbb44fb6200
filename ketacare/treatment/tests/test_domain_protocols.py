"""Shipped protocols and the validation of clinic overrides."""

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from ketacare.treatment.domain.protocols import (
    DEFAULT_PROTOCOLS,
    ESKETAMINE_MDSI,
    ESKETAMINE_TRD,
    IV_KETAMINE_INDUCTION,
    IV_KETAMINE_MAINTENANCE,
    PSYCHOTHERAPY_INTEGRATION,
    DeviceDoseRule,
    ProtocolInvalid,
    QuestionnaireDue,
    Route,
    WeightBasedDoseRule,
    with_overrides,
)
from ketacare.treatment.domain.vitals import VitalsSchedule

DOMAIN_DIR = Path(__file__).resolve().parents[1] / "domain"


def test_shipped_protocol_refs():
    assert list(DEFAULT_PROTOCOLS) == ["iv-ketamine-induction@1", "iv-ketamine-maintenance@1", "esketamine-trd@1",
                                       "esketamine-mdsi@1", "psychotherapy-integration@1"]
    assert all(p.sources for p in DEFAULT_PROTOCOLS.values())


def test_iv_default_is_half_mg_per_kg_over_40_minutes():
    rule = IV_KETAMINE_INDUCTION.dose_rule
    assert isinstance(rule, WeightBasedDoseRule)
    assert (rule.mg_per_kg, rule.infusion_minutes) == (Decimal("0.5"), 40)
    assert IV_KETAMINE_INDUCTION.route is Route.INTRAVENOUS and IV_KETAMINE_INDUCTION.requires_weight


def test_esketamine_label_facts():
    for p in (ESKETAMINE_TRD, ESKETAMINE_MDSI):
        assert isinstance(p.dose_rule, DeviceDoseRule)
        assert (p.dose_rule.device_mg, p.dose_rule.minutes_between_devices) == (Decimal(28), 5)
        assert p.observation_minimum_minutes == 120 and p.observation_floor_minutes == 120
        assert 40 in p.vitals_schedule.minutes and p.rems_pmf_required and p.requires_escort
    assert ESKETAMINE_TRD.dose_rule.first_dose_mg == Decimal(56)
    assert ESKETAMINE_MDSI.dose_rule.first_dose_mg == Decimal(84)


def test_questionnaires_due_before_and_after_the_dose():
    assert IV_KETAMINE_INDUCTION.pre_dose_questionnaires() == {"phq-9", "gad-7", "cssrs-screen", "vas-anxiety"}
    assert IV_KETAMINE_INDUCTION.post_dose_questionnaires() == (QuestionnaireDue("vas-anxiety", 2),
                                                                QuestionnaireDue("mini-spin", 24))
    assert QuestionnaireDue("phq-9", -24).pre_dose and QuestionnaireDue("phq-9", 0).pre_dose
    assert not QuestionnaireDue("phq-9", 1).pre_dose


def test_psychotherapy_gives_no_dose():
    assert PSYCHOTHERAPY_INTEGRATION.dose_rule is None and not PSYCHOTHERAPY_INTEGRATION.involves_dose


def test_override_returns_a_new_protocol_and_records_what_changed():
    p = with_overrides(ESKETAMINE_TRD, observation_minimum_minutes=150,
                       thresholds={"spo2_alert_below_pct": 94})
    assert p.observation_minimum_minutes == 150 and p.thresholds.spo2_alert_below_pct == 94
    assert p.thresholds.spo2_critical_below_pct == ESKETAMINE_TRD.thresholds.spo2_critical_below_pct
    assert p.overridden == {"observation_minimum_minutes", "thresholds"}
    assert ESKETAMINE_TRD.observation_minimum_minutes == 120 and ESKETAMINE_TRD.overridden == frozenset()


@pytest.mark.parametrize("protocol", [ESKETAMINE_TRD, ESKETAMINE_MDSI])
def test_esketamine_observation_can_never_go_below_120_minutes(protocol):
    assert with_overrides(protocol, observation_minimum_minutes=120).observation_minimum_minutes == 120
    with pytest.raises(ProtocolInvalid, match="below the floor of 120"):
        with_overrides(protocol, observation_minimum_minutes=119)


def test_iv_observation_is_clinic_policy_and_may_be_shortened():
    assert with_overrides(IV_KETAMINE_INDUCTION, observation_minimum_minutes=60).observation_minimum_minutes == 60


@pytest.mark.parametrize(("protocol", "values"), [
    (ESKETAMINE_TRD, {"observation_floor_minutes": 60}),
    (ESKETAMINE_TRD, {"key": "mine"}),
    (ESKETAMINE_TRD, {"route": Route.INTRAVENOUS}),
    (ESKETAMINE_TRD, {"no_such_field": 1}),
    (ESKETAMINE_TRD, {"thresholds": {"no_such_threshold": 1}}),
    (ESKETAMINE_TRD, {"thresholds": {"spo2_critical_below_pct": 99}}),  # critical above alert
    (ESKETAMINE_TRD, {"vitals_schedule": VitalsSchedule(minutes=(15, 60, 120))}),  # drops the 40-min BP
    (ESKETAMINE_TRD, {"vitals_schedule": {"minutes": (60, 40)}}),
    (ESKETAMINE_TRD, {"dose_rule": {"device_mg": Decimal(14)}}),
    (ESKETAMINE_TRD, {"dose_rule": {"minutes_between_devices": 4}}),
    (ESKETAMINE_TRD, {"dose_rule": {"allowed_doses_mg": (Decimal(56), Decimal(70))}}),
    (ESKETAMINE_TRD, {"dose_rule": {"first_dose_mg": Decimal(28)}}),  # not among allowed doses
    (ESKETAMINE_TRD, {"dose_rule": WeightBasedDoseRule()}),
    (IV_KETAMINE_INDUCTION, {"dose_rule": {"max_mg_per_kg": Decimal("0.4")}}),  # below the 0.5 default
    (IV_KETAMINE_INDUCTION, {"dose_rule": {"max_total_mg": Decimal(0)}}),
    (IV_KETAMINE_INDUCTION, {"dose_rule": {"min_infusion_minutes": 50}}),  # above the 40-min default
    (IV_KETAMINE_INDUCTION, {"observation_minimum_minutes": "long"}),
])
def test_invalid_overrides_are_refused(protocol, values):
    with pytest.raises(ProtocolInvalid):
        with_overrides(protocol, **values)


def test_valid_nested_overrides():
    p = with_overrides(ESKETAMINE_TRD, dose_rule={"allowed_doses_mg": (Decimal(28), Decimal(56), Decimal(84))},
                       vitals_schedule={"minutes": (10, 20, 40, 60, 90, 120)})
    assert Decimal(28) in p.dose_rule.allowed_doses_mg and p.vitals_schedule.minutes[0] == 10
    iv = with_overrides(IV_KETAMINE_MAINTENANCE, dose_rule={"max_total_mg": Decimal(80)})
    assert iv.dose_rule.max_total_mg == Decimal(80) and iv.dose_rule.mg_per_kg == Decimal("0.5")


def test_overrides_accumulate():
    p = with_overrides(with_overrides(IV_KETAMINE_INDUCTION, observation_minimum_minutes=90), version="1-clinic-a")
    assert p.overridden == {"observation_minimum_minutes", "version"} and p.ref == "iv-ketamine-induction@1-clinic-a"


@pytest.mark.parametrize("module", sorted(DOMAIN_DIR.glob("*.py")), ids=lambda p: p.name)
def test_domain_modules_cite_their_source_and_never_import_django(module):
    tree = ast.parse(module.read_text())
    if module.name != "__init__.py":
        assert "docs/domain/" in (ast.get_docstring(tree) or "")
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(name.split(".")[0] == "django" for name in imported)


def test_questionnaire_keys_are_instrument_keys_of_the_instruments_app():
    from ketacare.instruments.domain.registry import load_shipped

    shipped = set(load_shipped())
    for protocol in DEFAULT_PROTOCOLS.values():
        assert {q.instrument for q in protocol.questionnaires} <= shipped, protocol.ref


def test_overrides_round_trip_through_json():
    from ketacare.treatment.domain.protocols import overrides_from_json, overrides_to_json

    data = {"observation_minimum_minutes": 150, "thresholds": {"spo2_alert_below_pct": 94},
            "dose_rule": {"max_total_mg": "80.5"}, "vitals_schedule": {"minutes": [10, 20, 40, 60]},
            "questionnaires": [{"instrument": "vas-anxiety", "offset_hours": 0}], "requires_escort": False}
    changed = overrides_from_json(IV_KETAMINE_INDUCTION, data)
    assert changed.dose_rule.max_total_mg == Decimal("80.5")
    assert changed.thresholds.spo2_alert_below_pct == 94 and changed.vitals_schedule.minutes == (10, 20, 40, 60)
    assert overrides_to_json(IV_KETAMINE_INDUCTION, changed) == data
    assert overrides_to_json(IV_KETAMINE_INDUCTION, IV_KETAMINE_INDUCTION) == {}


@pytest.mark.parametrize(("data", "message"), [
    ({"observation_minimum_minutes": "150"}, "whole number"),
    ({"observation_minimum_minutes": True}, "whole number"),
    ({"thresholds": {"spo2_alert_below_pct": 9.5}}, "whole number"),
    ({"dose_rule": {"max_total_mg": "lots"}}, "number"),
    ({"route": "iv"}, "fixed"),
    ({"colour": "blue"}, "unknown"),
    ({"esketamine": 1}, "unknown"),
])
def test_bad_json_overrides_are_refused_with_the_field(data, message):
    from ketacare.treatment.domain.protocols import overrides_from_json

    with pytest.raises(ProtocolInvalid, match=message):
        overrides_from_json(IV_KETAMINE_INDUCTION, data)


def test_json_overrides_keep_the_esketamine_observation_floor():
    from ketacare.treatment.domain.protocols import overrides_from_json

    with pytest.raises(ProtocolInvalid, match="below the floor"):
        overrides_from_json(ESKETAMINE_TRD, {"observation_minimum_minutes": 90})
