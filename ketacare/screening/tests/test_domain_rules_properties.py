"""Properties of `evaluate` (screening/domain/rules.py) over arbitrary fact combinations: every valid intake gets a
consistent, explained result; adding an exclusion never helps; arbitrary input is evaluated or refused by field.
The hand-written contraindication table and boundaries are in test_domain_rules.py."""

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.screening.domain import icd10
from ketacare.screening.domain.facts import (
    CONDITION_BY_CATEGORY,
    FACT_NAMES,
    IMPLIES,
    CssrsRisk,
    IntakeFacts,
    InvalidFacts,
    validate_facts,
)
from ketacare.screening.domain.resistance import Response, TreatmentTrial, TrialKind
from ketacare.screening.domain.rules import (
    RULES_BY_CODE,
    Route,
    Status,
)
from ketacare.screening.tests.test_domain_rules import (
    BOOL_FACTS,
    CAUTION,
    CLEAN,
    CONTRAINDICATIONS,
    DOMAIN_FILES,
    EXCLUDE,
    INFO,
    TODAY,
    codes,
    run,
)

# ---- properties over arbitrary fact combinations -------------------------------------------------------------


def make_consistent(facts: IntakeFacts) -> IntakeFacts:
    """Resolve the few cross-field contradictions that validation refuses, without removing any True fact."""
    changes = {}
    systolic, diastolic = facts.systolic_mmhg, facts.diastolic_mmhg
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        changes["diastolic_mmhg"] = systolic - 10
    if facts.phq9_total is not None and facts.phq9_item9 is not None and facts.phq9_item9 > facts.phq9_total:
        changes["phq9_total"] = facts.phq9_item9
    if facts.takes_benzodiazepine is False and facts.benzodiazepine_lorazepam_eq_mg_per_day:
        changes["benzodiazepine_lorazepam_eq_mg_per_day"] = None
    for category in icd10.categories_of(facts.diagnoses or ()):
        if (name := CONDITION_BY_CATEGORY.get(category)) and getattr(facts, name) is False:
            changes[name] = True
    facts = replace(facts, **changes)
    if facts.diagnosis_onsets is not None:  # only recorded codes have an onset, once each
        onsets = dict(pair for pair in facts.diagnosis_onsets if pair[0] in (facts.diagnoses or ()))
        facts = replace(facts, diagnosis_onsets=tuple(onsets.items()))
    for narrow, broad in IMPLIES:
        if getattr(facts, narrow) is True and getattr(facts, broad) is False:
            facts = replace(facts, **{broad: True})
    return facts


CV_EVENT_CODES = {code for code, entry in icd10.TABLE.items() if entry.categories & icd10.CV_EVENT_CATEGORIES}

trials = st.builds(
    TreatmentTrial,
    name=st.sampled_from(["sertraline", "venlafaxine", "bupropion", "CBT"]),
    kind=st.sampled_from(TrialKind),
    dose_mg_per_day=st.none() | st.decimals(min_value=0, max_value=600, places=1),
    duration_weeks=st.none() | st.integers(0, 52),
    adequate=st.none() | st.booleans(),
    response=st.none() | st.sampled_from(Response),
    current_episode=st.none() | st.booleans(),
)

FIELD_VALUES = dict(
    date_of_birth=st.none() | st.dates(min_value=date(1910, 1, 1), max_value=TODAY),
    weight_kg=st.none() | st.decimals(min_value=20, max_value=400, places=3),
    height_cm=st.none() | st.decimals(min_value=90, max_value=250, places=1),
    systolic_mmhg=st.none() | st.integers(80, 240),
    diastolic_mmhg=st.none() | st.integers(40, 140),
    heart_rate_bpm=st.none() | st.integers(30, 200),
    diagnoses=st.none() | st.lists(st.sampled_from(sorted(icd10.TABLE)), max_size=4, unique=True).map(tuple),
    diagnosis_onsets=st.none() | st.lists(st.tuples(st.sampled_from(sorted(CV_EVENT_CODES)),
                                                    st.dates(min_value=date(2024, 1, 1), max_value=TODAY)),
                                          max_size=2).map(tuple),
    benzodiazepine_lorazepam_eq_mg_per_day=st.none() | st.decimals(min_value=0, max_value=20, places=2),
    prior_trials=st.none() | st.lists(trials, max_size=4).map(tuple),
    cssrs_risk=st.none() | st.sampled_from(CssrsRisk),
    phq9_total=st.none() | st.integers(0, 27),
    phq9_item9=st.none() | st.integers(0, 3),
    bprs_positive_max_item=st.none() | st.integers(1, 7),
    **{name: st.none() | st.booleans() for name in BOOL_FACTS},
)
assert set(FIELD_VALUES) == set(FACT_NAMES)


@st.composite
def near(draw, base):
    """`base` with a few facts changed, so single facts decide the status as often as not."""
    names = draw(st.lists(st.sampled_from(FACT_NAMES), max_size=4, unique=True))
    return replace(base, **{name: draw(FIELD_VALUES[name]) for name in names})


valid_facts = st.one_of(
    near(CLEAN),
    near(IntakeFacts()),
    st.builds(IntakeFacts, **FIELD_VALUES),
).map(make_consistent)

routes = st.sampled_from(Route)
RANK = {Status.ELIGIBLE: 0, Status.ELIGIBLE_WITH_CAUTIONS: 1, Status.INCOMPLETE: 2, Status.NOT_ELIGIBLE: 3}
SEVERITY = {INFO: 0, CAUTION: 1, EXCLUDE: 2}


def severity(result):
    return max((SEVERITY[finding.verdict] for finding in result.findings), default=0)


@settings(max_examples=300, deadline=None)
@given(valid_facts, routes)
def test_any_valid_facts_give_a_consistent_explained_result(facts, route):
    assert validate_facts(facts, today=TODAY) == ()
    result = run(route, facts)
    assert result.route == route
    for finding in result.findings:
        rule = RULES_BY_CODE[finding.rule_code]
        assert route in rule.routes
        assert (finding.verdict, finding.citation) == (rule.verdict, rule.citation)
        assert finding.citation.file in DOMAIN_FILES
        assert finding.message and "{" not in finding.message
    assert set(result.missing_facts) <= set(FACT_NAMES)
    assert bool(result.missing_facts) == bool(result.undecided_rules)
    verdicts = {finding.verdict for finding in result.findings}
    if EXCLUDE in verdicts:
        expected = Status.NOT_ELIGIBLE
    elif result.missing_facts:
        expected = Status.INCOMPLETE
    elif CAUTION in verdicts:
        expected = Status.ELIGIBLE_WITH_CAUTIONS
    else:
        expected = Status.ELIGIBLE
    assert result.status == expected
    assert run(route, facts) == result  # a pure function of its inputs


# Each exclusion fact (set by the clinician) per route; taken from the contraindication table above.
EXCLUSION_CHANGES = [(row[0], row[4]) for row in CONTRAINDICATIONS if row[2] == EXCLUDE]


@settings(max_examples=150, deadline=None)
@given(valid_facts)
def test_adding_an_exclusion_fact_never_makes_the_status_better(facts):
    for route, changes in EXCLUSION_CHANGES:
        before = run(route, facts)
        after = run(route, make_consistent(replace(facts, **changes)))
        assert after.status == Status.NOT_ELIGIBLE, (route, changes)
        assert RANK[after.status] >= RANK[before.status]


@settings(max_examples=100, deadline=None)
@given(valid_facts)
def test_turning_an_absent_condition_present_never_removes_a_finding(facts):
    for name in BOOL_FACTS:
        narrower = {n: None for n, broad in IMPLIES if broad == name and getattr(facts, n) is True}
        absent = make_consistent(replace(facts, **narrower, **{name: False}))
        if getattr(absent, name) is not False:
            continue  # a recorded diagnosis says the condition is present; it cannot be recorded absent
        present = make_consistent(replace(absent, **{name: True}))
        for route in Route:
            before, after = run(route, absent), run(route, present)
            assert set(codes(before)) <= set(codes(after)), (route, name)
            assert severity(after) >= severity(before), (route, name)
            if before.status == Status.NOT_ELIGIBLE:
                assert after.status == Status.NOT_ELIGIBLE, (route, name)


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 1000),
    st.text(max_size=6),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.dates(),
)
arbitrary_facts = st.builds(
    IntakeFacts,
    date_of_birth=st.none() | st.dates(),
    weight_kg=st.none() | st.decimals(allow_nan=True, allow_infinity=True),
    height_cm=st.none() | st.decimals(min_value=-10, max_value=1000),
    systolic_mmhg=st.none() | st.integers(-10, 500),
    diastolic_mmhg=st.none() | st.integers(-10, 500),
    diagnoses=st.none() | st.lists(st.sampled_from(sorted(icd10.TABLE)) | st.text(max_size=8), max_size=3).map(tuple),
    prior_trials=st.none() | st.lists(trials, max_size=3).map(tuple),
    cssrs_risk=anything,
    phq9_total=anything,
    phq9_item9=anything,
    bprs_positive_max_item=anything,
    benzodiazepine_lorazepam_eq_mg_per_day=st.none() | st.decimals(allow_nan=True),
    **{name: st.none() | st.booleans() for name in BOOL_FACTS},
)


@settings(max_examples=300, deadline=None)
@given(arbitrary_facts, routes)
def test_arbitrary_input_is_either_evaluated_or_refused_with_field_errors(facts, route):
    try:
        result = run(route, facts)
    except InvalidFacts as refused:
        assert refused.errors
        assert all(error.field and error.message for error in refused.errors)
        return
    assert result.status in Status
