"""Eligibility rules and `evaluate` (screening/domain/rules.py).

The contraindication table has one row per rule per route; each row names the docs/domain file the rule must
cite. Absolute contraindications come from esketamine-and-rems.md §4 (and, for IV ketamine, the trial exclusions
of iv-ketamine.md §7); relative ones from the warnings (§5-§6) and iv-ketamine.md §3/§6/§7; suicide-risk and
psychotic-symptom rules from instruments.md §1.3, §6 and §9.
"""

from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

import pytest

from ketacare.screening.domain.facts import (
    FACT_NAMES,
    CssrsRisk,
    IntakeFacts,
    InvalidFacts,
)
from ketacare.screening.domain.resistance import Response, TreatmentTrial, TrialKind
from ketacare.screening.domain.rules import (
    RULES,
    RULES_BY_CODE,
    RULESET_VERSION,
    EligibilityParams,
    ParamsInvalid,
    Route,
    Status,
    Verdict,
    evaluate,
    rules_for,
)

TODAY = date(2026, 7, 1)
PARAMS = EligibilityParams()
ESK, IV = Route.ESKETAMINE, Route.IV_KETAMINE
EXCLUDE, CAUTION, INFO = Verdict.EXCLUDE, Verdict.CAUTION, Verdict.INFO
DOMAIN_FILES = {"esketamine-and-rems.md", "iv-ketamine.md", "instruments.md", "evidence.md"}
BOOL_FACTS = tuple(f.name for f in fields(IntakeFacts) if f.type == "bool | None")


def trial(name, **overrides):
    values = dict(
        name=name,
        kind=TrialKind.ORAL_ANTIDEPRESSANT,
        dose_mg_per_day=Decimal("150"),
        duration_weeks=8,
        adequate=True,
        response=Response.NONE,
        current_episode=True,
    )
    values.update(overrides)
    return TreatmentTrial(**values)


# A fully assessed adult with recurrent MDD (TRD) and social anxiety disorder, nothing contraindicating.
CLEAN = IntakeFacts(
    date_of_birth=date(1985, 3, 14),
    weight_kg=Decimal("70"),
    height_cm=Decimal("175"),
    systolic_mmhg=120,
    diastolic_mmhg=80,
    heart_rate_bpm=72,
    diagnoses=("F33.1", "F40.10"),
    **{name: False for name in BOOL_FACTS},
    prior_trials=(trial("sertraline"), trial("venlafaxine", response=Response.PARTIAL)),
    cssrs_risk=CssrsRisk.NONE,
    phq9_total=14,
    phq9_item9=0,
)


def run(route, facts=CLEAN, params=PARAMS):
    return evaluate(facts, route, params, TODAY)


def codes(result):
    return [finding.rule_code for finding in result.findings]


def test_a_clean_intake_is_eligible_for_both_routes():
    esk = run(ESK)
    assert esk.status == Status.ELIGIBLE
    assert codes(esk) == ["esk.meets_trd_definition", "esk.rems_patient_enrollment"]
    assert esk.missing_facts == ()
    assert esk.ruleset_version == RULESET_VERSION
    iv = run(IV)
    assert iv.status == Status.ELIGIBLE
    assert codes(iv) == ["iv.dosing_weight"]
    assert iv.findings[0].message.startswith("Weight 70 kg, BMI 22.9:")


ESK_FILE, IV_FILE, INSTR = "esketamine-and-rems.md", "iv-ketamine.md", "instruments.md"
MDD_ONLY = (trial("sertraline"),)
RECENT_MI = {"diagnoses": ("F33.1", "F40.10", "I21.4"), "cardiovascular_disease": True,
             "diagnosis_onsets": (("I21.4", date(2026, 5, 1)),)}

# (route, rule code, verdict, cited file, changes to CLEAN that should trigger it)
# fmt: off
CONTRAINDICATIONS = [
    # esketamine: labeled contraindications, esketamine-and-rems.md §4
    (ESK, "esk.aneurysmal_vascular_disease", EXCLUDE, ESK_FILE, {"aneurysmal_vascular_disease": True}),
    (ESK, "esk.arteriovenous_malformation", EXCLUDE, ESK_FILE, {"arteriovenous_malformation": True}),
    (ESK, "esk.intracerebral_hemorrhage_history", EXCLUDE, ESK_FILE, {"intracerebral_hemorrhage_history": True}),
    (ESK, "esk.hypersensitivity", EXCLUDE, ESK_FILE, {"hypersensitivity_ketamine": True}),
    (ESK, "esk.raised_intracranial_pressure", EXCLUDE, ESK_FILE, {"raised_intracranial_pressure": True}),
    (ESK, "esk.uncontrolled_hypertension", EXCLUDE, ESK_FILE,
     {"hypertension": True, "hypertension_uncontrolled": True}),
    (ESK, "esk.bp_crisis_level", EXCLUDE, ESK_FILE, {"systolic_mmhg": 181}),
    (ESK, "esk.under_minimum_age", EXCLUDE, ESK_FILE, {"date_of_birth": date(2008, 7, 2)}),
    # esketamine: warnings, esketamine-and-rems.md §2, §4 (BP/ICP judgement), §5, §6
    (ESK, "esk.baseline_bp_elevated", CAUTION, ESK_FILE, {"systolic_mmhg": 141}),
    (ESK, "esk.hypertension", CAUTION, ESK_FILE, {"hypertension": True}),
    (ESK, "esk.recent_cardiovascular_event", EXCLUDE, ESK_FILE, RECENT_MI),
    (ESK, "esk.cardiovascular_disease", CAUTION, ESK_FILE, {"cardiovascular_disease": True}),
    (ESK, "esk.cerebrovascular_disease", CAUTION, ESK_FILE, {"cerebrovascular_disease": True}),
    (ESK, "esk.psychosis", CAUTION, ESK_FILE, {"psychosis_history": True}),
    (ESK, "esk.mania_or_bipolar", CAUTION, ESK_FILE, {"mania_or_bipolar_history": True}),
    (ESK, "esk.substance_use", CAUTION, ESK_FILE, {"substance_use_disorder_history": True}),
    (ESK, "esk.ketamine_misuse_history", CAUTION, ESK_FILE, {"ketamine_misuse_history": True}),
    (ESK, "esk.cns_depressant", CAUTION, ESK_FILE, {"takes_opioid": True}),
    (ESK, "esk.bp_raising_drug", CAUTION, ESK_FILE, {"takes_maoi": True}),
    (ESK, "esk.pregnancy", CAUTION, ESK_FILE, {"pregnant": True}),
    (ESK, "esk.breastfeeding", CAUTION, ESK_FILE, {"breastfeeding": True}),
    (ESK, "esk.interstitial_cystitis", CAUTION, ESK_FILE, {"interstitial_cystitis": True}),
    (ESK, "esk.lacks_capacity_to_consent", EXCLUDE, ESK_FILE, {"lacks_capacity_to_consent": True}),
    (ESK, "esk.off_label_diagnosis", CAUTION, ESK_FILE, {"diagnoses": ("F40.10", "F41.1")}),
    (ESK, "esk.not_treatment_resistant", CAUTION, ESK_FILE, {"prior_trials": MDD_ONLY}),
    (ESK, "esk.meets_trd_definition", INFO, ESK_FILE, {}),
    (ESK, "esk.rems_patient_enrollment", INFO, ESK_FILE, {}),
    # IV ketamine: trial exclusion criteria, iv-ketamine.md §7 (and evidence.md for the adult-only program)
    (IV, "iv.psychosis_current", EXCLUDE, IV_FILE, {"psychosis_history": True, "psychosis_current": True}),
    (IV, "iv.mania_current", EXCLUDE, IV_FILE, {"mania_or_bipolar_history": True, "mania_current": True}),
    (IV, "iv.pregnancy", EXCLUDE, IV_FILE, {"pregnant": True}),
    (IV, "iv.breastfeeding", EXCLUDE, IV_FILE, {"breastfeeding": True}),
    (IV, "iv.lacks_capacity_to_consent", EXCLUDE, IV_FILE, {"lacks_capacity_to_consent": True}),
    (IV, "iv.ketamine_misuse_history", EXCLUDE, IV_FILE, {"ketamine_misuse_history": True}),
    (IV, "iv.substance_use_disorder_current", EXCLUDE, IV_FILE,
     {"substance_use_disorder_history": True, "substance_use_disorder_current": True}),
    (IV, "iv.uncontrolled_hypertension", EXCLUDE, IV_FILE, {"hypertension": True, "hypertension_uncontrolled": True}),
    (IV, "iv.bp_crisis_level", EXCLUDE, IV_FILE, {"systolic_mmhg": 150, "diastolic_mmhg": 111}),
    (IV, "iv.hypersensitivity", EXCLUDE, IV_FILE, {"hypersensitivity_ketamine": True}),
    (IV, "iv.aneurysmal_vascular_disease", EXCLUDE, IV_FILE, {"aneurysmal_vascular_disease": True}),
    (IV, "iv.arteriovenous_malformation", EXCLUDE, IV_FILE, {"arteriovenous_malformation": True}),
    (IV, "iv.intracerebral_hemorrhage_history", EXCLUDE, IV_FILE, {"intracerebral_hemorrhage_history": True}),
    (IV, "iv.raised_intracranial_pressure", EXCLUDE, IV_FILE, {"raised_intracranial_pressure": True}),
    (IV, "iv.under_minimum_age", EXCLUDE, "evidence.md", {"date_of_birth": date(2010, 1, 1)}),
    # IV ketamine: relative, iv-ketamine.md §3, §4, §6, §7 (drug interactions by analogy with the esketamine label)
    (IV, "iv.baseline_bp_elevated", CAUTION, IV_FILE, {"diastolic_mmhg": 91}),
    (IV, "iv.hypertension", CAUTION, IV_FILE, {"hypertension": True}),
    (IV, "iv.recent_cardiovascular_event", EXCLUDE, IV_FILE, RECENT_MI),
    (IV, "iv.cardiovascular_disease", CAUTION, IV_FILE, {"cardiovascular_disease": True}),
    (IV, "iv.cerebrovascular_disease", CAUTION, IV_FILE, {"cerebrovascular_disease": True}),
    (IV, "iv.psychosis_history", CAUTION, IV_FILE, {"psychosis_history": True}),
    (IV, "iv.substance_use_history", CAUTION, IV_FILE, {"substance_use_disorder_history": True}),
    (IV, "iv.benzodiazepine_high_dose", CAUTION, IV_FILE,
     {"takes_benzodiazepine": True, "benzodiazepine_lorazepam_eq_mg_per_day": Decimal("3.5")}),
    (IV, "iv.cns_depressant", CAUTION, ESK_FILE,
     {"takes_benzodiazepine": True, "benzodiazepine_lorazepam_eq_mg_per_day": Decimal("1")}),
    (IV, "iv.bp_raising_drug", CAUTION, ESK_FILE, {"takes_stimulant": True}),
    (IV, "iv.no_supported_diagnosis", CAUTION, IV_FILE, {"diagnoses": ("F41.0",)}),
    (IV, "iv.dosing_weight", INFO, IV_FILE, {}),
]
# Suicide risk and psychotic symptoms apply to both routes: instruments.md §1.3, §6.2-§6.3, §9.
for _route in (ESK, IV):
    CONTRAINDICATIONS += [
        (_route, "suicide.cssrs_high", EXCLUDE, INSTR, {"cssrs_risk": CssrsRisk.HIGH}),
        (_route, "suicide.active_intent", EXCLUDE, INSTR,
         {"phq9_item9": 3, "phq9_total": 20, "suicidal_intent_current": True}),
        (_route, "suicide.cssrs_moderate", CAUTION, INSTR, {"cssrs_risk": CssrsRisk.MODERATE}),
        (_route, "suicide.cssrs_low", INFO, INSTR, {"cssrs_risk": CssrsRisk.LOW}),
        (_route, "suicide.phq9_item9_positive", CAUTION, INSTR, {"phq9_item9": 1}),
        (_route, "suicide.prior_attempt", INFO, INSTR, {"prior_suicide_attempt": True}),
        (_route, "psychosis.bprs_positive_elevated", CAUTION, INSTR, {"bprs_positive_max_item": 4}),
    ]
# fmt: on

STATUS_FOR = {EXCLUDE: Status.NOT_ELIGIBLE, CAUTION: Status.ELIGIBLE_WITH_CAUTIONS, INFO: Status.ELIGIBLE}


@pytest.mark.parametrize(
    ("route", "code", "verdict", "cited_file", "changes"),
    CONTRAINDICATIONS,
    ids=[f"{row[0]}:{row[1]}" for row in CONTRAINDICATIONS],
)
def test_contraindication_table(route, code, verdict, cited_file, changes):
    result = run(route, replace(CLEAN, **changes))
    found = [finding for finding in result.findings if finding.rule_code == code]
    assert len(found) == 1, codes(result)
    assert found[0].verdict == verdict
    assert found[0].citation.file == cited_file
    assert found[0].citation == RULES_BY_CODE[code].citation
    assert found[0].message and "{" not in found[0].message
    assert result.status == STATUS_FOR[verdict]
    assert result.missing_facts == ()


def test_the_table_has_a_row_for_every_rule_on_every_route():
    in_table = {(row[0], row[1]) for row in CONTRAINDICATIONS}
    in_ruleset = {(route, rule.code) for rule in RULES for route in rule.routes}
    assert in_table == in_ruleset


def test_rule_codes_are_unique_and_cite_a_domain_file_and_section():
    assert len(RULES_BY_CODE) == len(RULES)
    for rule in RULES:
        assert rule.code.split(".")[0] in {"esk", "iv", "suicide", "psychosis"}
        assert rule.citation.file in DOMAIN_FILES, rule.code
        assert "§" in rule.citation.section, rule.code
        assert str(rule.citation).startswith("docs/domain/")
        assert set(rule.needs) <= set(FACT_NAMES), rule.code


def test_every_absolute_contraindication_of_the_esketamine_label_is_an_exclusion():
    # esketamine-and-rems.md §4 items 1-4 plus the BP/intracranial-pressure statement
    labeled = {
        "esk.aneurysmal_vascular_disease",
        "esk.arteriovenous_malformation",
        "esk.intracerebral_hemorrhage_history",
        "esk.hypersensitivity",
        "esk.raised_intracranial_pressure",
        "esk.uncontrolled_hypertension",
    }
    assert labeled <= {rule.code for rule in rules_for(ESK) if rule.verdict == EXCLUDE}


@pytest.mark.parametrize(
    ("code", "route", "category_code"),
    [
        ("esk.aneurysmal_vascular_disease", ESK, "I71.43"),
        ("esk.aneurysmal_vascular_disease", ESK, "I67.1"),
        ("esk.arteriovenous_malformation", ESK, "Q28.2"),
        ("esk.intracerebral_hemorrhage_history", ESK, "I69.10"),
        ("esk.raised_intracranial_pressure", ESK, "G93.2"),
        ("iv.aneurysmal_vascular_disease", IV, "I72.6"),
        ("iv.pregnancy", IV, "Z33.1"),
    ],
)
def test_a_recorded_diagnosis_triggers_the_exclusion_even_if_the_checkbox_is_unanswered(code, route, category_code):
    field = RULES_BY_CODE[code].needs[0]
    facts = replace(CLEAN, diagnoses=("F33.1", category_code), **{field: None})
    result = run(route, facts)
    assert code in codes(result)
    assert result.status == Status.NOT_ELIGIBLE
    assert field not in result.missing_facts


@pytest.mark.parametrize(
    ("route", "changes", "fires"),
    [
        (ESK, {"systolic_mmhg": 140, "diastolic_mmhg": 90}, False),  # "> 140/90": the limit itself is not above
        (ESK, {"systolic_mmhg": 141, "diastolic_mmhg": 90}, True),
        (ESK, {"systolic_mmhg": 140, "diastolic_mmhg": 91}, True),
        (IV, {"systolic_mmhg": 140, "diastolic_mmhg": 90}, False),
        (IV, {"systolic_mmhg": 165, "diastolic_mmhg": 95}, True),
    ],
)
def test_baseline_bp_caution_is_strictly_above_140_over_90(route, changes, fires):
    code = "esk.baseline_bp_elevated" if route == ESK else "iv.baseline_bp_elevated"
    assert (code in codes(run(route, replace(CLEAN, **changes)))) is fires


@pytest.mark.parametrize(("born", "excluded"), [(date(2008, 7, 1), False), (date(2008, 7, 2), True)])
def test_minimum_age_boundary_is_the_eighteenth_birthday(born, excluded):
    for route in (ESK, IV):
        result = run(route, replace(CLEAN, date_of_birth=born))
        assert (result.status == Status.NOT_ELIGIBLE) is excluded


def test_benzodiazepine_dose_at_the_limit_is_not_above_it():
    facts = replace(CLEAN, takes_benzodiazepine=True, benzodiazepine_lorazepam_eq_mg_per_day=Decimal("3"))
    assert "iv.benzodiazepine_high_dose" not in codes(run(IV, facts))


def test_phq9_item9_of_zero_is_silent_but_never_assumed():
    assert "suicide.phq9_item9_positive" not in codes(run(ESK))
    result = run(ESK, replace(CLEAN, phq9_item9=None))
    assert result.status == Status.INCOMPLETE
    assert result.missing_facts == ("phq9_item9",)


SUICIDE_STOP_ROWS = [
    # (route, changes to CLEAN, stopped?) on both sides of each boundary
    *[(route, {"cssrs_risk": level}, level == CssrsRisk.HIGH) for route in (ESK, IV) for level in CssrsRisk],
    *[(route, {"phq9_item9": item9, "phq9_total": 20, "suicidal_intent_current": intent}, item9 == 3 and intent)
      for route in (ESK, IV) for item9 in (2, 3) for intent in (False, True) if not (intent and item9 < 3)],
]


@pytest.mark.parametrize(("route", "changes", "stopped"), SUICIDE_STOP_ROWS)
def test_high_suicide_risk_is_a_stop_at_eligibility_instruments_6_3(route, changes, stopped):
    """instruments.md §6.3: HIGH risk (C-SSRS HIGH, or PHQ-9 item 9 at its highest with active intent) means
    same-day evaluation and a higher level of care before any dose: "not eligible now", with what clears it."""
    result = run(route, replace(CLEAN, **changes))
    stops = [f for f in result.findings if f.rule_code in {"suicide.cssrs_high", "suicide.active_intent"}]
    assert (result.status == Status.NOT_ELIGIBLE) is stopped
    assert bool(stops) is stopped
    for finding in stops:
        assert finding.verdict == EXCLUDE
        assert finding.message.startswith("Not eligible now")
        assert "repeat C-SSRS" in finding.clears
        assert finding.citation.file == INSTR and "§6.3" in finding.citation.section


def test_recorded_active_intent_stops_whatever_item9_says_instruments_6_3():
    result = run(ESK, replace(CLEAN, suicidal_intent_current=True))
    assert result.status == Status.NOT_ELIGIBLE
    assert "suicide.active_intent" in codes(result)


@pytest.mark.parametrize("route", [ESK, IV])
def test_item9_at_its_highest_asks_for_intent_instruments_1_3(route):
    result = run(route, replace(CLEAN, phq9_item9=3, phq9_total=20, suicidal_intent_current=None))
    assert result.status == Status.INCOMPLETE
    assert result.missing_facts == ("suicidal_intent_current",)
    # below the highest answer, intent is not asked for
    lower = run(route, replace(CLEAN, phq9_item9=2, phq9_total=20, suicidal_intent_current=None))
    assert "suicidal_intent_current" not in lower.missing_facts


TEMPORARY_STOPS = {"suicide.cssrs_high", "suicide.active_intent", "esk.bp_crisis_level", "iv.bp_crisis_level",
                   "esk.recent_cardiovascular_event", "iv.recent_cardiovascular_event"}


def test_only_temporary_stops_say_what_clears_them():
    assert {rule.code for rule in RULES if rule.clears} == TEMPORARY_STOPS
    assert all(RULES_BY_CODE[code].verdict == EXCLUDE for code in TEMPORARY_STOPS)


BP_CRISIS_ROWS = [
    # (route, systolic, diastolic, stopped): "> 180/110" (esketamine-and-rems.md §6 [S]); the limit itself is not above
    (route, systolic, diastolic, stopped)
    for route in (ESK, IV)
    for systolic, diastolic, stopped in ((180, 110, False), (181, 110, True), (180, 111, True), (200, 120, True))
]


@pytest.mark.parametrize(("route", "systolic", "diastolic", "stopped"), BP_CRISIS_ROWS)
def test_intake_bp_at_crisis_level_is_uncontrolled_hypertension_esketamine_6_iv_7(route, systolic, diastolic,
                                                                                  stopped):
    """esketamine-and-rems.md §6 (do-not-dose; clinic threshold > 180/110) and iv-ketamine.md §7 (uncontrolled
    hypertension excluded): a crisis-level reading must not pass as "controlled", even with "uncontrolled: no"."""
    facts = replace(CLEAN, hypertension=True, hypertension_uncontrolled=False, systolic_mmhg=systolic,
                    diastolic_mmhg=diastolic)
    result = run(route, facts)
    code = f"{'esk' if route == ESK else 'iv'}.bp_crisis_level"
    assert (code in codes(result)) is stopped
    assert (result.status == Status.NOT_ELIGIBLE) is stopped
    if stopped:
        finding = next(f for f in result.findings if f.rule_code == code)
        assert f"{systolic}/{diastolic}" in finding.message and "180/110" in finding.message
        assert "§6" in finding.citation.section or "§7" in finding.citation.section
        assert finding.clears


def test_a_clinic_may_set_a_stricter_crisis_level_but_not_a_laxer_one():
    strict = EligibilityParams(bp_crisis_systolic_above_mmhg=160, bp_crisis_diastolic_above_mmhg=100)
    assert run(ESK, replace(CLEAN, systolic_mmhg=161), strict).status == Status.NOT_ELIGIBLE
    with pytest.raises(ParamsInvalid) as refused:
        EligibilityParams(bp_crisis_systolic_above_mmhg=201)
    assert "bp_crisis_systolic_above_mmhg" in refused.value.errors


@pytest.mark.parametrize("route", [ESK, IV])
@pytest.mark.parametrize("code", ["I16.0", "I16.1", "I16.9"])
def test_a_hypertensive_crisis_code_is_uncontrolled_hypertension(route, code):
    """esketamine-and-rems.md §4 (BP rise a serious risk) / iv-ketamine.md §7: urgency or emergency is uncontrolled."""
    facts = replace(CLEAN, diagnoses=("F33.1", code), hypertension=None, hypertension_uncontrolled=None)
    result = run(route, facts)
    rule = "esk.uncontrolled_hypertension" if route == ESK else "iv.uncontrolled_hypertension"
    assert rule in codes(result) and result.status == Status.NOT_ELIGIBLE
    assert "hypertension_uncontrolled" not in result.missing_facts
    # essential hypertension alone is the other side of the boundary: controlled is allowed
    controlled = run(route, replace(facts, diagnoses=("F33.1", "I10"), hypertension_uncontrolled=False))
    assert rule not in codes(controlled) and controlled.status == Status.ELIGIBLE_WITH_CAUTIONS


@pytest.mark.parametrize("code", ["I16.0", "I16.1", "I16.9"])
def test_a_crisis_code_with_uncontrolled_no_is_refused_as_a_contradiction(code):
    facts = replace(CLEAN, diagnoses=("F33.1", code), hypertension=True, hypertension_uncontrolled=False)
    with pytest.raises(InvalidFacts) as refused:
        run(ESK, facts)
    (error,) = refused.value.errors
    assert error.field == "hypertension_uncontrolled" and code in error.message


EVENT_CODES = ["I21.4", "I63.9", "G45.9", "I20.0", "I50.21", "I47.20"]


def with_event(code, onset):
    condition = "cerebrovascular_disease" if code in {"I63.9", "G45.9", "I60.9"} else "cardiovascular_disease"
    onsets = None if onset is None else ((code, onset),)
    return replace(CLEAN, diagnoses=("F33.1", "F40.10", code), diagnosis_onsets=onsets, **{condition: True})


@pytest.mark.parametrize("route", [ESK, IV])
@pytest.mark.parametrize("code", EVENT_CODES)
@pytest.mark.parametrize(("days_ago", "stopped"), [(0, True), (180, True), (181, False), (3000, False)])
def test_a_recent_cv_or_cerebrovascular_event_is_a_stop_iv_7_esketamine_4(route, code, days_ago, stopped):
    """iv-ketamine.md §7 (unstable cardiac, arrhythmic or cerebrovascular illness) and esketamine-and-rems.md §4
    (a BP rise poses a serious risk): an event within the recency window (default 180 days, clinic policy) stops;
    an older one stays the condition's caution."""
    from datetime import timedelta

    result = run(route, with_event(code, TODAY - timedelta(days=days_ago)))
    rule = f"{'esk' if route == ESK else 'iv'}.recent_cardiovascular_event"
    assert (rule in codes(result)) is stopped
    assert result.status == (Status.NOT_ELIGIBLE if stopped else Status.ELIGIBLE_WITH_CAUTIONS)
    if stopped:
        finding = next(f for f in result.findings if f.rule_code == rule)
        assert code in finding.message and "180 days" in finding.message and finding.clears
    else:
        assert {f.verdict for f in result.findings} >= {CAUTION}  # the history caution remains


@pytest.mark.parametrize("route", [ESK, IV])
def test_an_event_code_without_its_date_is_incomplete_not_assumed_old(route):
    result = run(route, with_event("I21.9", None))
    assert result.status == Status.INCOMPLETE
    assert result.missing_facts == ("diagnosis_onsets",)
    # a non-event cardiovascular code (old MI, atrial fibrillation) needs no date
    assert run(route, with_event("I25.2", None)).status == Status.ELIGIBLE_WITH_CAUTIONS


def test_the_recency_window_is_the_clinics_within_bounds():
    from datetime import timedelta

    facts = with_event("I63.9", TODAY - timedelta(days=300))
    assert run(ESK, facts).status == Status.ELIGIBLE_WITH_CAUTIONS
    assert run(ESK, facts, EligibilityParams(cv_event_recency_days=365)).status == Status.NOT_ELIGIBLE
    with pytest.raises(ParamsInvalid):
        EligibilityParams(cv_event_recency_days=10)


@pytest.mark.parametrize(("onsets", "words"), [
    ((("I21.4", date(2026, 7, 2)),), "in the future"),
    ((("I63.9", date(2026, 1, 1)),), "not a recorded diagnosis"),
    ((("I21.4", date(2026, 1, 1)), ("I21.4", date(2026, 2, 1))), "two onset dates"),
])
def test_bad_onset_dates_are_refused(onsets, words):
    facts = replace(with_event("I21.4", None), diagnosis_onsets=onsets)
    with pytest.raises(InvalidFacts) as refused:
        run(IV, facts)
    assert any(e.field == "diagnosis_onsets" and words in e.message for e in refused.value.errors)


@pytest.mark.parametrize(("changes", "fires"), [
    ({"interstitial_cystitis": False}, False),
    ({"interstitial_cystitis": True}, True),
    ({"interstitial_cystitis": None, "diagnoses": ("F33.1", "F40.10", "N30.10")}, True),  # coded
    ({"interstitial_cystitis": None, "diagnoses": ("F33.1", "F40.10", "N30.11")}, True),
])
def test_interstitial_or_ulcerative_cystitis_is_an_esketamine_caution_esketamine_5(changes, fires):
    """esketamine-and-rems.md §5: ulcerative or interstitial cystitis is a listed warning (caution, esketamine)."""
    esk, iv = run(ESK, replace(CLEAN, **changes)), run(IV, replace(CLEAN, **changes))
    assert ("esk.interstitial_cystitis" in codes(esk)) is fires
    assert esk.status == (Status.ELIGIBLE_WITH_CAUTIONS if fires else Status.ELIGIBLE)
    assert not [c for c in codes(iv) if "cystitis" in c]


@pytest.mark.parametrize("route", [ESK, IV])
@pytest.mark.parametrize("lacks", [False, True])
def test_capacity_to_consent_is_needed_on_both_routes_esketamine_8_2_iv_7(route, lacks):
    """esketamine-and-rems.md §8.2: the patient signs the REMS enrolment and must understand the monitoring;
    iv-ketamine.md §7: lack of capacity to consent excludes."""
    result = run(route, replace(CLEAN, lacks_capacity_to_consent=lacks))
    code = f"{'esk' if route == ESK else 'iv'}.lacks_capacity_to_consent"
    assert (code in codes(result)) is lacks
    assert (result.status == Status.NOT_ELIGIBLE) is lacks
    assert run(route, replace(CLEAN, lacks_capacity_to_consent=None)).missing_facts == ("lacks_capacity_to_consent",)


def test_psychosis_is_a_caution_for_esketamine_but_current_psychosis_excludes_iv():
    facts = replace(CLEAN, psychosis_history=True, psychosis_current=True)
    assert run(ESK, facts).status == Status.ELIGIBLE_WITH_CAUTIONS
    assert run(IV, facts).status == Status.NOT_ELIGIBLE
    past_only = replace(CLEAN, psychosis_history=True, psychosis_current=None)
    assert run(IV, past_only).missing_facts == ("psychosis_current",)  # past psychosis: is it current?


def test_treatment_resistance_is_explained_in_the_finding():
    result = run(ESK, replace(CLEAN, prior_trials=MDD_ONLY))
    finding = next(f for f in result.findings if f.rule_code == "esk.not_treatment_resistant")
    assert "1 adequate failed oral antidepressant trial(s)" in finding.message
    assert result.resistance is not None and result.resistance.is_trd is False


# ---- incomplete -----------------------------------------------------------------------------------------------


def test_nothing_recorded_is_incomplete_and_lists_what_each_route_needs():
    esk = run(ESK, IntakeFacts())
    iv = run(IV, IntakeFacts())
    assert esk.status == iv.status == Status.INCOMPLETE
    always = {
        "date_of_birth",
        "systolic_mmhg",
        "diastolic_mmhg",
        "diagnoses",
        "hypersensitivity_ketamine",
        "aneurysmal_vascular_disease",
        "arteriovenous_malformation",
        "intracerebral_hemorrhage_history",
        "cssrs_risk",
        "phq9_item9",
        "pregnant",
        "lacks_capacity_to_consent",  # both routes since issue 13 (esketamine-and-rems.md §8.2)
    }
    assert always | {"interstitial_cystitis"} <= set(esk.missing_facts)
    assert always | {"weight_kg", "height_cm", "psychosis_current"} <= set(iv.missing_facts)
    assert "interstitial_cystitis" not in iv.missing_facts  # a label warning of esketamine only
    # listed once each, in intake-form order
    for result in (esk, iv):
        assert list(result.missing_facts) == sorted(set(result.missing_facts), key=FACT_NAMES.index)


@pytest.mark.parametrize(
    ("route", "field", "missing"),
    [
        (ESK, "cssrs_risk", ("cssrs_risk",)),
        (IV, "weight_kg", ("weight_kg",)),
        (ESK, "diagnoses", ("diagnoses",)),
        (IV, "takes_maoi", ("takes_maoi",)),
        (ESK, "pregnant", ("pregnant",)),
        (ESK, "hypertension", ("hypertension",)),  # uncontrolled=False is recorded, so only this is asked
        (IV, "prior_trials", ()),  # IV ketamine needs no trial history
        (IV, "bprs_positive_max_item", ()),  # optional at intake
        (IV, "takes_lamotrigine", ()),  # recorded, but no sourced rule uses it
    ],
)
def test_one_unrecorded_fact_is_named(route, field, missing):
    result = run(route, replace(CLEAN, **{field: None}))
    assert result.missing_facts == missing
    assert result.status == (Status.INCOMPLETE if missing else Status.ELIGIBLE)


def test_taking_a_benzodiazepine_asks_for_the_dose_for_iv_only():
    facts = replace(CLEAN, takes_benzodiazepine=True, benzodiazepine_lorazepam_eq_mg_per_day=None)
    iv = run(IV, facts)
    assert iv.status == Status.INCOMPLETE
    assert iv.missing_facts == ("benzodiazepine_lorazepam_eq_mg_per_day",)
    assert run(ESK, facts).status == Status.ELIGIBLE_WITH_CAUTIONS


def test_a_trial_with_unknown_adequacy_that_could_decide_trd_makes_esketamine_incomplete():
    facts = replace(CLEAN, prior_trials=(trial("sertraline"), trial("venlafaxine", adequate=None)))
    result = run(ESK, facts)
    assert result.status == Status.INCOMPLETE
    assert result.missing_facts == ("prior_trials",)
    assert set(result.undecided_rules) == {"esk.not_treatment_resistant", "esk.meets_trd_definition"}


def test_an_exclusion_wins_over_missing_facts_which_are_still_listed():
    facts = replace(CLEAN, aneurysmal_vascular_disease=True, cssrs_risk=None, weight_kg=None)
    esk = run(ESK, facts)
    assert esk.status == Status.NOT_ELIGIBLE
    assert esk.missing_facts == ("cssrs_risk",)
    iv = run(IV, facts)
    assert iv.status == Status.NOT_ELIGIBLE
    assert iv.missing_facts == ("weight_kg", "cssrs_risk")


def test_missing_facts_win_over_cautions():
    result = run(ESK, replace(CLEAN, hypertension=True, cssrs_risk=None))
    assert result.status == Status.INCOMPLETE
    assert "esk.hypertension" in codes(result)


def test_findings_are_ordered_exclusions_then_cautions_then_information():
    facts = replace(CLEAN, hypertension=True, arteriovenous_malformation=True, cssrs_risk=CssrsRisk.LOW)
    verdicts = [finding.verdict for finding in run(ESK, facts).findings]
    assert verdicts == sorted(verdicts, key=[EXCLUDE, CAUTION, INFO].index)
    assert verdicts[0] == EXCLUDE and verdicts[-1] == INFO


# ---- parameters ---------------------------------------------------------------------------------------------------


def test_clinic_parameters_override_the_cited_defaults():
    facts = replace(CLEAN, date_of_birth=date(2006, 1, 1), systolic_mmhg=145, diastolic_mmhg=92)
    default = run(ESK, facts)
    assert "esk.baseline_bp_elevated" in codes(default)
    assert default.status == Status.ELIGIBLE_WITH_CAUTIONS
    strict_age = EligibilityParams(min_age_years=21)
    assert run(ESK, facts, strict_age).status == Status.NOT_ELIGIBLE
    relaxed_bp = EligibilityParams(baseline_systolic_caution_above_mmhg=150, baseline_diastolic_caution_above_mmhg=95)
    assert run(ESK, facts, relaxed_bp).status == Status.ELIGIBLE
    three_trials = EligibilityParams(trd_min_failed_trials=3)
    assert "esk.not_treatment_resistant" in codes(run(ESK, CLEAN, three_trials))


def test_routes_accept_their_string_values_and_refuse_others():
    assert run("esketamine").route == ESK
    assert run("iv-ketamine").route == IV
    with pytest.raises(ValueError):
        run("oral-ketamine")


def test_invalid_facts_are_refused_before_any_rule_runs():
    with pytest.raises(InvalidFacts) as caught:
        run(ESK, replace(CLEAN, weight_kg=Decimal("0"), date_of_birth=date(2027, 1, 1)))
    assert {error.field for error in caught.value.errors} == {"weight_kg", "date_of_birth"}
