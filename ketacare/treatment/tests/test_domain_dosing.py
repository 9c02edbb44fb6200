"""Dose calculations (IV ketamine, esketamine devices) and the dose check against the protocol."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.treatment.domain.dosing import (
    DoseOverride,
    DoseRefused,
    Sex,
    WeightBasis,
    device_gap_warnings,
    dose_check,
    dosing_weight,
    esketamine_devices,
    ideal_body_weight_kg,
    iv_dose,
)
from ketacare.treatment.domain.protocols import (
    ESKETAMINE_MDSI,
    ESKETAMINE_TRD,
    IV_KETAMINE_INDUCTION,
    PSYCHOTHERAPY_INTEGRATION,
)

D = Decimal
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# Devine IBW: 50 (men) / 45.5 (women) + 2.3 x (inches - 60); iv-ketamine.md §1.1.
@pytest.mark.parametrize(("height_cm", "sex", "ibw"), [
    (D("152.4"), Sex.MALE, D("50.0")),  # exactly 60 in
    (D("152.4"), Sex.FEMALE, D("45.5")),
    (D(180), Sex.MALE, D("75.0")),  # 70.87 in -> 74.99
    (D(160), Sex.FEMALE, D("52.4")),  # 62.99 in -> 52.38
    (D(175), Sex.MALE, D("70.5")),
])
def test_devine_ideal_body_weight(height_cm, sex, ibw):
    assert ideal_body_weight_kg(height_cm, sex)[0] == ibw


def test_ideal_weight_refused_when_formula_gives_nothing_usable():
    with pytest.raises(DoseRefused):
        ideal_body_weight_kg(D(100), Sex.FEMALE)


# (basis, actual kg, height cm, sex, mg/kg, mg/mL, minutes) -> (mg, mL, mg/min, mL/h)
DOSE_TABLE = [
    (WeightBasis.ACTUAL, D(80), None, None, D("0.5"), D(10), 40, (D("40.0"), D("4.00"), D("1.00"), D("6.00"))),
    (WeightBasis.ACTUAL, D(70), None, None, D("0.5"), D(1), 40, (D("35.0"), D("35.00"), D("0.88"), D("52.50"))),
    (WeightBasis.ACTUAL, D(100), None, None, D("0.75"), D(50), 40, (D("75.0"), D("1.50"), D("1.88"), D("2.25"))),
    (WeightBasis.ACTUAL, D(60), None, None, D("0.5"), D(10), 60, (D("30.0"), D("3.00"), D("0.50"), D("3.00"))),
    (WeightBasis.IDEAL, D(120), D(180), Sex.MALE, D("0.5"), D(10), 40, (D("37.5"), D("3.75"), D("0.94"),
                                                                        D("5.63"))),
    (WeightBasis.IDEAL, D(95), D(160), Sex.FEMALE, D("0.5"), D(1), 40, (D("26.2"), D("26.20"), D("0.66"),
                                                                        D("39.30"))),
    # adjusted = 70.5 + 0.4 x (120 - 70.5) = 90.3 kg; 0.5 x 90.3 = 45.15 -> 45.2 mg
    (WeightBasis.ADJUSTED, D(120), D(175), Sex.MALE, D("0.5"), D(10), 40, (D("45.2"), D("4.52"), D("1.13"),
                                                                           D("6.78"))),
]


@pytest.mark.parametrize(("basis", "actual", "height", "sex", "mg_per_kg", "conc", "minutes", "expected"),
                         DOSE_TABLE)
def test_iv_dose_table(basis, actual, height, sex, mg_per_kg, conc, minutes, expected):
    weight = dosing_weight(basis, actual_kg=actual, height_cm=height, sex=sex,
                           adjusted_factor=IV_KETAMINE_INDUCTION.dose_rule.adjusted_weight_factor)
    dose = iv_dose(weight=weight, mg_per_kg=mg_per_kg, concentration_mg_per_ml=conc, infusion_minutes=minutes,
                   max_mg=D(100))
    assert (dose.mg, dose.ml, dose.mg_per_min, dose.ml_per_h) == expected
    assert weight.basis == basis


def test_iv_dose_shows_its_working():
    weight = dosing_weight(WeightBasis.ADJUSTED, actual_kg=D(120), height_cm=D(175), sex=Sex.MALE,
                           adjusted_factor=D("0.4"))
    dose = iv_dose(weight=weight, mg_per_kg=D("0.5"), concentration_mg_per_ml=D(10), infusion_minutes=40,
                   max_mg=D(100))
    assert dose.working == (
        "actual body weight 120 kg",
        "IBW (Devine, male): 50 + 2.3 x (68.90 in - 60) = 70.5 kg",
        "adjusted body weight: 70.5 + 0.4 x (120 - 70.5) = 90.3 kg",
        "dosing weight: adjusted body weight 90.3 kg",
        "dose: 0.5 mg/kg x 90.3 kg = 45.2 mg",
        "maximum: 45.2 mg <= 100 mg",
        "volume: 45.2 mg / 10 mg/mL = 4.52 mL",
        "rate: 45.2 mg / 40 min = 1.13 mg/min",
        "pump rate: 45.2 mg / 10 mg/mL x 60 / 40 min = 6.78 mL/h",
    )


def test_dose_exactly_at_the_hard_maximum_is_allowed_and_just_above_is_refused():
    at_max = iv_dose(weight=dosing_weight(WeightBasis.ACTUAL, actual_kg=D(200)), mg_per_kg=D("0.5"),
                     concentration_mg_per_ml=D(10), infusion_minutes=40, max_mg=D(100))
    assert at_max.mg == D("100.0")
    with pytest.raises(DoseRefused) as exc:
        iv_dose(weight=dosing_weight(WeightBasis.ACTUAL, actual_kg=D("200.2")), mg_per_kg=D("0.5"),
                concentration_mg_per_ml=D(10), infusion_minutes=40, max_mg=D(100))
    assert "100.1 mg is above the hard maximum of 100 mg" in str(exc.value)
    assert exc.value.details["working"][-1] == "dose: 0.5 mg/kg x 200.2 kg = 100.1 mg"


@pytest.mark.parametrize("basis", [WeightBasis.IDEAL, WeightBasis.ADJUSTED])
def test_derived_weight_bases_need_height_and_sex(basis):
    with pytest.raises(DoseRefused):
        dosing_weight(basis, actual_kg=D(90), adjusted_factor=D("0.4"))


def test_adjusted_weight_needs_the_factor():
    with pytest.raises(DoseRefused):
        dosing_weight(WeightBasis.ADJUSTED, actual_kg=D(90), height_cm=D(170), sex=Sex.FEMALE)


@pytest.mark.parametrize("bad", [{"mg_per_kg": D(0)}, {"concentration_mg_per_ml": D(0)}, {"infusion_minutes": 0}])
def test_iv_dose_rejects_non_positive_inputs(bad):
    args = {"weight": dosing_weight(WeightBasis.ACTUAL, actual_kg=D(70)), "mg_per_kg": D("0.5"),
            "concentration_mg_per_ml": D(10), "infusion_minutes": 40, "max_mg": D(100), **bad}
    with pytest.raises(DoseRefused):
        iv_dose(**args)


@settings(max_examples=200, deadline=None)
@given(kg=st.decimals(min_value=20, max_value=250, places=1),
       mg_per_kg=st.decimals(min_value=D("0.05"), max_value=D("1.5"), places=2),
       max_mg=st.decimals(min_value=10, max_value=200, places=1))
def test_iv_dose_never_exceeds_the_maximum(kg, mg_per_kg, max_mg):
    weight = dosing_weight(WeightBasis.ACTUAL, actual_kg=kg)
    expected = (mg_per_kg * kg).quantize(D("0.1"), rounding=ROUND_HALF_UP)
    try:
        dose = iv_dose(weight=weight, mg_per_kg=mg_per_kg, concentration_mg_per_ml=D(10), infusion_minutes=40,
                       max_mg=max_mg)
    except DoseRefused:
        assert expected > max_mg
    else:
        assert dose.mg == expected <= max_mg


@pytest.mark.parametrize(("dose_mg", "devices"), [(D(28), 1), (D(56), 2), (D(84), 3), (D("56.0"), 2)])
def test_esketamine_device_count_and_times_5_min_apart(dose_mg, devices):
    planned = esketamine_devices(dose_mg, T0)
    assert len(planned) == devices
    assert [d.number for d in planned] == list(range(1, devices + 1))
    assert [d.scheduled_at for d in planned] == [T0 + dt.timedelta(minutes=5 * i) for i in range(devices)]
    assert all(d.mg == D(28) for d in planned)


@pytest.mark.parametrize("dose_mg", [D(70), D(0), D(112), D(14), D("56.5")])
def test_esketamine_dose_not_in_whole_devices_is_refused(dose_mg):
    with pytest.raises(DoseRefused):
        esketamine_devices(dose_mg, T0)


@settings(max_examples=200, deadline=None)
@given(dose=st.integers(min_value=1, max_value=200))
def test_device_count_times_28_equals_the_dose(dose):
    try:
        planned = esketamine_devices(D(dose), T0)
    except DoseRefused:
        assert dose not in (28, 56, 84)
    else:
        assert len(planned) * 28 == dose
        assert sum(d.mg for d in planned) == dose


def test_device_gap_warning_below_5_minutes_only():
    on_time = [T0, T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=11)]
    assert device_gap_warnings(on_time) == []
    early = [T0, T0 + dt.timedelta(minutes=4, seconds=59)]
    warnings = device_gap_warnings(early)
    assert len(warnings) == 1 and "device 2" in warnings[0]


# ---- dose_check ----

@pytest.mark.parametrize(("mg_per_kg", "minutes", "dose_mg", "codes"), [
    (D("0.5"), 40, D(40), []),
    (D("0.1"), 40, D(8), []),  # lower edge of 0.1-0.75 mg/kg is inside
    (D("0.75"), 60, D(60), []),  # upper edge is inside
    (D("0.09"), 40, D(7), ["dose.mg_per_kg_outside_protocol"]),
    (D("0.76"), 40, D(61), ["dose.mg_per_kg_outside_protocol"]),
    (D("0.5"), 39, D(40), ["dose.infusion_too_short"]),
    (D("0.75"), 40, D("100.1"), ["dose.above_hard_maximum"]),
])
def test_iv_dose_check(mg_per_kg, minutes, dose_mg, codes):
    check = dose_check(IV_KETAMINE_INDUCTION, dose_mg=dose_mg, mg_per_kg=mg_per_kg, infusion_minutes=minutes)
    assert [i.code for i in check.issues] == codes


def test_hard_maximum_is_refused_not_overridable():
    check = dose_check(IV_KETAMINE_INDUCTION, dose_mg=D(101), mg_per_kg=D("0.5"), infusion_minutes=40)
    assert check.refused and not check.needs_override
    assert not check.allows(DoseOverride("dr-lee", "large patient"))


def test_out_of_protocol_iv_dose_needs_an_override():
    check = dose_check(IV_KETAMINE_INDUCTION, dose_mg=D(80), mg_per_kg=D(1), infusion_minutes=40)
    assert check.needs_override and not check.refused
    assert not check.allows(None)
    assert check.allows(DoseOverride("dr-lee", "partial response at 0.75 mg/kg"))


@pytest.mark.parametrize(("protocol", "dose", "first", "previous", "codes"), [
    (ESKETAMINE_TRD, D(56), True, None, []),
    (ESKETAMINE_TRD, D(84), False, D(56), []),
    (ESKETAMINE_TRD, D(84), True, None, ["dose.first_dose_differs"]),  # day 1 is 56 mg
    (ESKETAMINE_TRD, D(28), False, D(56), ["dose.outside_protocol"]),
    (ESKETAMINE_TRD, D(70), False, None, ["dose.not_whole_devices"]),
    (ESKETAMINE_TRD, D(84), False, D(28), ["dose.step_too_large"]),
    (ESKETAMINE_MDSI, D(84), True, None, []),  # MDSI starts at 84 mg
    (ESKETAMINE_MDSI, D(56), False, D(84), []),  # reduced for tolerability
    (ESKETAMINE_MDSI, D(56), True, None, ["dose.first_dose_differs"]),
])
def test_esketamine_dose_check(protocol, dose, first, previous, codes):
    check = dose_check(protocol, dose_mg=dose, first_in_course=first, previous_dose_mg=previous)
    assert [i.code for i in check.issues] == codes


def test_non_device_esketamine_dose_is_refused_even_with_an_override():
    check = dose_check(ESKETAMINE_TRD, dose_mg=D(70))
    assert check.refused and not check.allows(DoseOverride("dr-lee", "reason"))


def test_iv_dose_check_needs_the_iv_inputs():
    with pytest.raises(DoseRefused):
        dose_check(IV_KETAMINE_INDUCTION, dose_mg=D(40))


def test_no_dose_protocol_has_no_dose_to_check():
    with pytest.raises(DoseRefused):
        dose_check(PSYCHOTHERAPY_INTEGRATION, dose_mg=D(0))


@pytest.mark.parametrize(("prescriber", "reason"), [("", "why"), ("dr-lee", "  ")])
def test_override_needs_prescriber_and_reason(prescriber, reason):
    with pytest.raises(DoseRefused):
        DoseOverride(prescriber, reason)


# ---- body-measure sanity limits and the ideal-weight warning (issue 13 point 9) -------------------------------


@pytest.mark.parametrize(("actual_kg", "height_cm", "refused"), [
    (D("19.9"), D(170), True), (D(20), D(170), False), (D(400), D(170), False), (D("400.1"), D(170), True),
    (D(70), D("89.9"), True), (D(70), D(90), False), (D(70), D(250), False), (D(70), D("250.1"), True),
])
def test_weight_and_height_outside_human_ranges_are_refused_iv_1_1(actual_kg, height_cm, refused):
    """iv-ketamine.md §1.1: the dosing weight is explicit; a weight or height no human has (a typo, a wrong unit)
    is refused, never dosed on (the intake's plausibility ranges, screening/domain/units.py)."""
    for basis in (WeightBasis.ACTUAL, WeightBasis.IDEAL) if refused else (WeightBasis.ACTUAL,):
        if refused:
            with pytest.raises(DoseRefused) as caught:
                dosing_weight(basis, actual_kg=actual_kg, height_cm=height_cm, sex=Sex.FEMALE)
            assert "outside the human range" in str(caught.value)
        else:
            assert dosing_weight(basis, actual_kg=actual_kg, height_cm=height_cm, sex=Sex.FEMALE).kg > 0


@pytest.mark.parametrize(("actual_kg", "warned"), [(D(80), False), (D(87), False), (D(88), True), (D(150), True)])
def test_an_ideal_weight_dose_far_below_the_actual_weight_dose_must_be_acknowledged_iv_1_1(actual_kg, warned):
    """iv-ketamine.md §1.1: the basis changes the dose materially; below 70 % of the actual-weight dose (clinic
    policy, no published threshold) the order needs the prescriber's override with a reason."""
    weight = dosing_weight(WeightBasis.IDEAL, actual_kg=actual_kg, height_cm=D(170), sex=Sex.FEMALE)  # IBW 61.4
    dose_mg = (weight.kg * D("0.5")).quantize(D("0.1"))
    check = dose_check(IV_KETAMINE_INDUCTION, dose_mg=dose_mg, mg_per_kg=D("0.5"), infusion_minutes=40,
                       weight=weight, actual_kg=actual_kg)
    codes = [issue.code for issue in check.issues]
    assert ("dose.ideal_weight_far_below_actual" in codes) is warned
    assert check.needs_override is warned and not check.refused
    # on the actual weight there is nothing to acknowledge
    actual = dosing_weight(WeightBasis.ACTUAL, actual_kg=actual_kg)
    assert not dose_check(IV_KETAMINE_INDUCTION, dose_mg=D(40), mg_per_kg=D("0.5"), infusion_minutes=40,
                          weight=actual, actual_kg=actual_kg).issues
