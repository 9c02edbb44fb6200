"""Vitals and score alerts exactly at their boundaries, and overdue scheduled readings."""

import datetime as dt
import json
from pathlib import Path

import pytest

from ketacare.treatment.domain.vitals import (
    Severity,
    Thresholds,
    VitalsReading,
    VitalsSchedule,
    baseline_bp_elevated,
    evaluate_vitals,
    vitals_due,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DEFAULTS = Thresholds()
FHIR_EXAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "external" / "fhir-r4-core"


def codes(**values) -> list[str]:
    return [f.code for f in evaluate_vitals(VitalsReading(T0, **values), DEFAULTS)]


# (measure, value, expected codes). Each threshold at its boundary and one step beyond.
BOUNDARIES = [
    # BP alert: > 180 / > 110; critical: > 200 / > 120 (esketamine-and-rems.md §6 [S])
    ("systolic_mmhg", 180, []), ("systolic_mmhg", 181, ["bp.high"]),
    ("systolic_mmhg", 200, ["bp.high"]), ("systolic_mmhg", 201, ["bp.critical"]),
    ("diastolic_mmhg", 110, []), ("diastolic_mmhg", 111, ["bp.high"]),
    ("diastolic_mmhg", 120, ["bp.high"]), ("diastolic_mmhg", 121, ["bp.critical"]),
    # heart rate > 120 / < 50 [U]
    ("heart_rate_bpm", 120, []), ("heart_rate_bpm", 121, ["hr.high"]),
    ("heart_rate_bpm", 50, []), ("heart_rate_bpm", 49, ["hr.low"]),
    # SpO2 < 92 warning, < 88 critical [U]
    ("spo2_pct", 92, []), ("spo2_pct", 91, ["spo2.low"]),
    ("spo2_pct", 88, ["spo2.low"]), ("spo2_pct", 87, ["spo2.critical"]),
    # respiratory rate < 10 / > 24 [U]
    ("resp_rate_per_min", 10, []), ("resp_rate_per_min", 9, ["rr.low"]),
    ("resp_rate_per_min", 24, []), ("resp_rate_per_min", 25, ["rr.high"]),
    # MOAA/S: 4 = mild (no alert), <= 3 moderate or greater [C], <= 1 emergency [U]
    ("moaas", 5, []), ("moaas", 4, []), ("moaas", 3, ["moaas.sedation"]), ("moaas", 2, ["moaas.sedation"]),
    ("moaas", 1, ["moaas.critical"]), ("moaas", 0, ["moaas.critical"]),
    # CADSS > 4 [C trial definition]
    ("cadss_total", 4, []), ("cadss_total", 5, ["cadss.dissociation"]),
]


@pytest.mark.parametrize(("measure", "value", "expected"), BOUNDARIES,
                         ids=[f"{m}={v}" for m, v, _ in BOUNDARIES])
def test_alert_boundaries(measure, value, expected):
    assert codes(**{measure: value}) == expected


def test_severities():
    by_code = {f.code: f.severity for f in evaluate_vitals(
        VitalsReading(T0, systolic_mmhg=210, spo2_pct=80, moaas=0, heart_rate_bpm=130), DEFAULTS)}
    assert by_code == {"bp.critical": Severity.CRITICAL, "spo2.critical": Severity.CRITICAL,
                       "moaas.critical": Severity.CRITICAL, "hr.high": Severity.WARNING}


@pytest.mark.parametrize(("baseline", "now", "expected"), [
    # label: rise >= 40 systolic / >= 25 diastolic (esketamine-and-rems.md §5 [C])
    ((120, 80), (159, 80), []),
    ((120, 80), (160, 80), ["bp.systolic_rise"]),
    ((120, 80), (120, 104), []),
    ((120, 80), (120, 105), ["bp.diastolic_rise"]),
    ((150, 95), (191, 121), ["bp.critical", "bp.systolic_rise", "bp.diastolic_rise"]),
])
def test_bp_rise_from_baseline(baseline, now, expected):
    base = VitalsReading(T0, systolic_mmhg=baseline[0], diastolic_mmhg=baseline[1])
    reading = VitalsReading(T0 + dt.timedelta(minutes=40), systolic_mmhg=now[0], diastolic_mmhg=now[1])
    assert [f.code for f in evaluate_vitals(reading, DEFAULTS, baseline=base)] == expected


@pytest.mark.parametrize(("pre", "post", "alert"), [(2, 5, True), (5, 5, False), (6, 5, False), (None, 5, True)])
def test_dissociation_needs_a_rise_from_pre_dose_when_known(pre, post, alert):
    base = VitalsReading(T0, cadss_total=pre)
    reading = VitalsReading(T0 + dt.timedelta(minutes=40), cadss_total=post)
    assert bool(evaluate_vitals(reading, DEFAULTS, baseline=base)) is alert


def test_missing_measures_give_no_findings():
    assert evaluate_vitals(VitalsReading(T0), DEFAULTS) == []


@pytest.mark.parametrize(("bp", "elevated"), [((140, 90), False), ((141, 90), True), ((140, 91), True),
                                              ((120, None), False), ((None, 95), True)])
def test_elevated_baseline_rule_is_strictly_above_140_over_90(bp, elevated):
    reading = VitalsReading(T0, systolic_mmhg=bp[0], diastolic_mmhg=bp[1])
    assert baseline_bp_elevated(reading, DEFAULTS) is elevated


def test_clinic_thresholds_move_the_boundary():
    strict = Thresholds(spo2_alert_below_pct=94)
    assert [f.code for f in evaluate_vitals(VitalsReading(T0, spo2_pct=93), strict)] == ["spo2.low"]
    assert codes(spo2_pct=93) == []


@pytest.mark.parametrize("bad", [
    {"systolic_critical_above_mmhg": 170},
    {"diastolic_critical_above_mmhg": 100},
    {"spo2_critical_below_pct": 95},
    {"moaas_critical_at_or_below": 4},
    {"heart_rate_alert_below_bpm": 130},
    {"resp_rate_alert_below_per_min": 30},
])
def test_inconsistent_thresholds_are_rejected(bad):
    with pytest.raises(ValueError):
        Thresholds(**bad)


def test_fhir_core_example_vitals():
    """The HL7 FHIR R4 example observations: BP 107/60, HR 44, RR 26, SpO2 95 %."""
    values = {}
    for name in ("blood-pressure", "heart-rate", "respiratory-rate", "satO2"):
        obs = json.loads((FHIR_EXAMPLES / f"Observation-{name}.json").read_text())
        parts = obs.get("component", []) + [obs]
        for part in parts:
            loinc = {c["code"] for c in part["code"]["coding"] if c.get("system") == "http://loinc.org"}
            if "valueQuantity" in part:
                values.update({key: int(part["valueQuantity"]["value"]) for code, key in [
                    ("8480-6", "systolic_mmhg"), ("8462-4", "diastolic_mmhg"), ("8867-4", "heart_rate_bpm"),
                    ("9279-1", "resp_rate_per_min"), ("2708-6", "spo2_pct")] if code in loinc})
    assert values == {"systolic_mmhg": 107, "diastolic_mmhg": 60, "heart_rate_bpm": 44,
                      "resp_rate_per_min": 26, "spo2_pct": 95}
    assert codes(**values) == ["hr.low", "rr.high"]


# ---- overdue vitals ----

SCHEDULE = VitalsSchedule(minutes=(15, 40, 60, 90, 120), grace_minutes=5)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_nothing_overdue_before_the_first_time_point():
    due = vitals_due(SCHEDULE, T0, [], at(10))
    assert due.overdue == () and due.next_due_at == at(15)


def test_slot_is_overdue_only_after_the_grace_period():
    assert vitals_due(SCHEDULE, T0, [], at(20)).overdue == ()
    due = vitals_due(SCHEDULE, T0, [], at(20 + 1 / 60))
    assert due.overdue == (at(15),)
    assert due.next_due_at == at(40)
    assert [(f.code, f.severity) for f in due.findings] == [("vitals.overdue", Severity.WARNING)]


@pytest.mark.parametrize(("recorded", "satisfied"), [
    (10, True),  # 5 min early: inside grace
    (9, False),  # too early
    (30, True),  # late but before the next slot opens (35)
    (35, False),  # counts for the 40-min slot instead
])
def test_which_reading_satisfies_the_15_min_slot(recorded, satisfied):
    due = vitals_due(SCHEDULE, T0, [at(recorded)], at(37))
    assert (at(15) not in due.overdue) is satisfied


def test_all_recorded_means_nothing_due():
    due = vitals_due(SCHEDULE, T0, [at(m) for m in (15, 41, 58, 92, 121)], at(180))
    assert due.overdue == () and due.next_due_at is None


def test_missed_points_stay_overdue_and_next_is_the_upcoming_one():
    due = vitals_due(SCHEDULE, T0, [at(16), at(62)], at(70))
    assert due.overdue == (at(40),)
    assert due.next_due_at == at(90)


def test_last_slot_accepts_any_later_reading():
    due = vitals_due(SCHEDULE, T0, [at(m) for m in (15, 40, 60, 90)] + [at(150)], at(200))
    assert due.overdue == ()


def test_empty_schedule_has_nothing_due():
    due = vitals_due(VitalsSchedule(minutes=()), T0, [], at(500))
    assert due == type(due)(next_due_at=None, overdue=())


@pytest.mark.parametrize("minutes", [(40, 15), (15, 15), (-5, 15)])
def test_schedule_must_be_ascending_unique_non_negative(minutes):
    with pytest.raises(ValueError):
        VitalsSchedule(minutes=minutes)
