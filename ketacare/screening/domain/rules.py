"""Eligibility rules per route (IV racemic ketamine, esketamine nasal spray) as versioned data, and `evaluate`.

Sources (each rule cites its own file and section):
- docs/domain/esketamine-and-rems.md §2 (indications, TRD definition, adults only), §4 (contraindications),
  §5 (warnings and interacting drugs), §6 (elevated baseline BP > 140/90 needs a risk-benefit decision),
  §8.2 (REMS patient enrollment).
- docs/domain/iv-ketamine.md §1.1 (dosing weight), §3 (APA 2017 pre-treatment evaluation), §4 (ASKP3
  evidence-supported conditions), §6 (hypertension and BP surges), §7 (trial exclusion criteria; clinics apply
  the esketamine contraindication list to racemic ketamine [U]).
- docs/domain/instruments.md §1.3 (PHQ-9 item 9), §6.2-§6.3 (C-SSRS screener triage), §9 (BPRS+).
- docs/domain/evidence.md §1-§2 (ketamine anxiety trials enrolled adults).

Verdicts: `exclude` = absolute contraindication (or, for IV ketamine, which has no psychiatric label, a safety
exclusion criterion of the trials); `caution` = relative: the prescriber must document a justification;
`info` = shown for explanation only.

Status precedence (documented decision):
1. any `exclude` finding -> not_eligible, even when other facts are missing (they are still listed);
2. otherwise any rule that could not be decided because facts are missing -> incomplete (listing them);
3. otherwise any `caution` finding -> eligible_with_cautions;
4. otherwise -> eligible.
Every rule's needed facts are required, so an `incomplete` result names exactly what to record next (in intake
form order). Facts recorded at intake that no rule uses yet (hepatic disease, lamotrigine, heart rate, PHQ-9
total) have no source-backed eligibility rule in docs/domain/; they are kept for the record and for other modules.

Rule predicates use three-valued logic: True (the finding applies), False (it does not), None (undecidable
with the recorded facts). A predicate never treats an unrecorded fact as absent. Thresholds come from
`EligibilityParams`, never from literals in the predicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cached_property

from ketacare.screening.domain import icd10
from ketacare.screening.domain.facts import (
    FACT_NAMES,
    PHQ9_ITEM,
    IntakeFacts,
    age_years,
    require_valid,
)
from ketacare.screening.domain.icd10 import Category
from ketacare.screening.domain.resistance import ResistanceSummary, summarize
from ketacare.screening.domain.units import bmi

RULESET_VERSION = "2026.2"


class Route(StrEnum):
    IV_KETAMINE = "iv-ketamine"
    ESKETAMINE = "esketamine"


class Verdict(StrEnum):
    EXCLUDE = "exclude"
    CAUTION = "caution"
    INFO = "info"


class Status(StrEnum):
    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_CAUTIONS = "eligible_with_cautions"
    INCOMPLETE = "incomplete"
    NOT_ELIGIBLE = "not_eligible"


# The thresholds a clinic may set live in params.py; they are named here too for the rules' callers.
from ketacare.screening.domain.params import (  # noqa: E402
    NO_PUBLISHED_NUMBER,
    PARAM_SPECS,
    EligibilityParams,
    ParamsInvalid,
    ParamSpec,
)

__all__ = ["NO_PUBLISHED_NUMBER", "PARAM_SPECS", "EligibilityParams", "ParamSpec", "ParamsInvalid"]


@dataclass(frozen=True)
class Citation:
    file: str  # under docs/domain/
    section: str

    def __str__(self) -> str:
        return f"docs/domain/{self.file} {self.section}"


Tri = bool | None


@dataclass(frozen=True)
class Context:
    """What a predicate may look at: the facts, the clinic's parameters and the evaluation date."""

    facts: IntakeFacts
    params: EligibilityParams
    today: date

    @cached_property
    def age(self) -> int | None:
        dob = self.facts.date_of_birth
        return None if dob is None else age_years(dob, self.today)

    @cached_property
    def resistance(self) -> ResistanceSummary | None:
        trials = self.facts.prior_trials
        return None if trials is None else summarize(trials, min_failed_trials=self.params.trd_min_failed_trials)

    @cached_property
    def weight_display(self) -> str | None:
        """Weight in kg to one decimal place for messages (the exact value stays in the facts)."""
        weight = self.facts.weight_kg
        if weight is None:
            return None
        text = f"{weight.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}"
        return text[:-2] if text.endswith(".0") else text

    @cached_property
    def bmi(self) -> Decimal | None:
        f = self.facts
        return None if f.weight_kg is None or f.height_cm is None else bmi(f.weight_kg, f.height_cm)

    @cached_property
    def cv_events(self) -> tuple[tuple[str, str, date | None], ...] | None:
        """Recorded event diagnoses as (code, event label, onset date or None); None when diagnoses are unknown."""
        if self.facts.diagnoses is None:
            return None
        events = []
        for code in self.facts.diagnoses:
            categories = icd10.lookup(code).categories & icd10.CV_EVENT_CATEGORIES
            if categories:
                label = " / ".join(icd10.CV_EVENT_LABELS[c] for c in sorted(categories))
                events.append((code, label, self.facts.onset_of(code)))
        return tuple(events)

    @cached_property
    def recent_cv_events(self) -> str:
        """The events inside the recency window, for messages ("I21.4 myocardial infarction on 2026-05-01")."""
        window = self.params.cv_event_recency_days
        return ", ".join(f"{code} {label} on {on.isoformat()}" for code, label, on in self.cv_events or ()
                         if on is not None and (self.today - on).days <= window)

    def has(self, category: Category) -> Tri:
        return None if self.facts.diagnoses is None else category in self.facts.diagnosis_categories()


@dataclass(frozen=True)
class Rule:
    code: str
    routes: frozenset[Route]
    verdict: Verdict
    needs: tuple[str, ...]  # IntakeFacts fields; reported as missing when None and the rule is undecided
    citation: Citation
    message: str  # str.format template; fields: f (facts), p (params), c (Context)
    applies: Callable[[Context], Tri]
    # Reported as missing when the rule is undecided although none of `needs` is None (incomplete contents).
    undecided_fields: tuple[str, ...] = field(default=())
    # For a stop that is "not eligible now" rather than for good: what has to happen before it no longer applies.
    clears: str = ""


@dataclass(frozen=True)
class Finding:
    rule_code: str
    verdict: Verdict
    message: str
    citation: Citation
    clears: str = ""  # what lifts a temporary stop (empty for a lasting finding)


@dataclass(frozen=True)
class EligibilityResult:
    route: Route
    status: Status
    findings: tuple[Finding, ...]
    missing_facts: tuple[str, ...]
    undecided_rules: tuple[str, ...]
    ruleset_version: str
    resistance: ResistanceSummary | None


# ---- three-valued helpers -------------------------------------------------------------------------------------


def any_of(*values: Tri) -> Tri:
    """Kleene OR: True if any is True, else None if any is unknown, else False."""
    if True in values:
        return True
    return None if None in values else False


def all_of(*values: Tri) -> Tri:
    """Kleene AND: False if any is False, else None if any is unknown, else True."""
    if False in values:
        return False
    return None if None in values else True


def above(value: int | Decimal | None, threshold: int | Decimal) -> Tri:
    return None if value is None else value > threshold


def condition(name: str) -> Callable[[Context], Tri]:
    """The condition fact (or a matching diagnosis) is present."""
    return lambda c: c.facts.condition(name)


def lifetime(history: str, present: str) -> Callable[[Context], Tri]:
    """Present now or in the past. The history fact includes the present."""
    return lambda c: True if getattr(c.facts, present) is True else c.facts.condition(history)


def current(history: str, present: str) -> Callable[[Context], Tri]:
    """Present now; known absent when the lifetime fact is False."""
    return lambda c: False if c.facts.condition(history) is False else c.facts.condition(present)


def _under_min_age(c: Context) -> Tri:
    return None if c.age is None else c.age < c.params.min_age_years


def _baseline_bp_elevated(c: Context) -> Tri:
    f, p = c.facts, c.params
    return any_of(
        above(f.systolic_mmhg, p.baseline_systolic_caution_above_mmhg),
        above(f.diastolic_mmhg, p.baseline_diastolic_caution_above_mmhg),
    )


def _bp_crisis_level(c: Context) -> Tri:
    f, p = c.facts, c.params
    return any_of(
        above(f.systolic_mmhg, p.bp_crisis_systolic_above_mmhg),
        above(f.diastolic_mmhg, p.bp_crisis_diastolic_above_mmhg),
    )


def _recent_cv_event(c: Context) -> Tri:
    """An event diagnosis with an onset inside the window: True; one without an onset date: undecided."""
    events = c.cv_events
    if events is None:
        return None
    if c.recent_cv_events:
        return True
    return None if any(on is None for _, _, on in events) else False


def _cns_depressant(c: Context) -> Tri:
    f = c.facts
    return any_of(f.takes_benzodiazepine, f.takes_opioid, f.takes_other_sedative)


def _bp_raising_drug(c: Context) -> Tri:
    return any_of(c.facts.takes_stimulant, c.facts.takes_maoi)


def _benzodiazepine_high_dose(c: Context) -> Tri:
    f = c.facts
    limit = c.params.benzodiazepine_caution_above_lorazepam_eq_mg_per_day
    return all_of(f.takes_benzodiazepine, above(f.benzodiazepine_lorazepam_eq_mg_per_day, limit))


def _no_mdd(c: Context) -> Tri:
    mdd = c.has(Category.MDD)
    return None if mdd is None else not mdd


def _trd(expected: bool) -> Callable[[Context], Tri]:
    """MDD is recorded and the TRD definition is (expected=True) or is not (False) met."""

    def applies(c: Context) -> Tri:
        mdd = c.has(Category.MDD)
        if mdd is not True:
            return mdd  # None: diagnoses unknown; False: no MDD, the off-label rule speaks instead
        resistance = c.resistance
        if resistance is None or resistance.is_trd is None:
            return None
        return resistance.is_trd is expected

    return applies


IV_SUPPORTED = (
    Category.MDD,
    Category.DEPRESSION_OTHER,
    Category.BIPOLAR,
    Category.PTSD,
    Category.OCD,
    Category.SOCIAL_ANXIETY,
    Category.GENERALIZED_ANXIETY,
)


def _no_iv_supported_diagnosis(c: Context) -> Tri:
    if c.facts.diagnoses is None:
        return None
    return not any(c.has(category) for category in IV_SUPPORTED)


def _cssrs_is(level: str) -> Callable[[Context], Tri]:
    return lambda c: None if c.facts.cssrs_risk is None else c.facts.cssrs_risk == level


def _active_intent(c: Context) -> Tri:
    """Item 9 at its highest answer and the clinician found active intent. The intent question is only asked
    (undecided until recorded) when item 9 is at its highest; recorded intent alone is C-SSRS HIGH territory
    and is counted too."""
    f = c.facts
    if f.suicidal_intent_current is True:
        return True
    if f.phq9_item9 is None:
        return None
    if f.phq9_item9 < PHQ9_ITEM.high:
        return False
    return f.suicidal_intent_current


def _phq9_item9_positive(c: Context) -> Tri:
    item9 = c.facts.phq9_item9
    return None if item9 is None else item9 >= c.params.phq9_item9_caution_at_least


def _bprs_positive_elevated(c: Context) -> Tri:
    # Optional at intake: not recorded means this rule is silent, not undecided.
    value = c.facts.bprs_positive_max_item
    return value is not None and value >= c.params.bprs_positive_item_caution_at_least


def _always(c: Context) -> Tri:
    return True


def _weight_and_height_recorded(c: Context) -> Tri:
    return None if c.facts.weight_kg is None or c.facts.height_cm is None else True


# ---- the rule set ---------------------------------------------------------------------------------------------

ESK = frozenset({Route.ESKETAMINE})
IV = frozenset({Route.IV_KETAMINE})
BOTH = ESK | IV
EXCLUDE, CAUTION, INFO = Verdict.EXCLUDE, Verdict.CAUTION, Verdict.INFO
ESK_FILE, IV_FILE, INSTRUMENTS_FILE = "esketamine-and-rems.md", "iv-ketamine.md", "instruments.md"


def esk(section: str) -> Citation:
    return Citation(ESK_FILE, section)


def iv(section: str) -> Citation:
    return Citation(IV_FILE, section)


def instruments(section: str) -> Citation:
    return Citation(INSTRUMENTS_FILE, section)


BP_ICP = "§4 (contraindicated when a rise in BP or intracranial pressure poses a serious risk)"
ESK_LIST_FOR_IV = "§7 (esketamine contraindications applied to racemic ketamine by many clinics [U])"
SUICIDE_CLEARS = (
    "A clinician's documented same-day evaluation and a repeat C-SSRS screen below HIGH (with no active intent "
    "recorded); then evaluate eligibility again. Dosing stays blocked at the session until the alert is cleared."
)
BP_CRISIS_MESSAGE = (
    "Not eligible now: intake BP {f.systolic_mmhg}/{f.diastolic_mmhg} mmHg is above the crisis level "
    "{p.bp_crisis_systolic_above_mmhg}/{p.bp_crisis_diastolic_above_mmhg}: this is uncontrolled hypertension, not "
    "controlled. With crisis symptoms (chest pain, dyspnea, severe headache, visual change, focal deficit) send for "
    "emergency care."
)
BP_CRISIS_CLEARS = (
    "Blood pressure brought under control and a new intake reading at or below the crisis level; then evaluate "
    "eligibility again."
)
CV_EVENT_CLEARS = (
    "The event is older than the clinic's recency window and the treating physician documents that the condition "
    "is stable; then evaluate eligibility again (older events remain a caution)."
)
BY_ANALOGY = "§5 drug interactions (same drug class; applied to IV racemic ketamine by analogy [U])"

# fmt: off
RULES: tuple[Rule, ...] = (
    # -- esketamine: labeled contraindications ---------------------------------------------------------------
    Rule("esk.aneurysmal_vascular_disease", ESK, EXCLUDE, ("aneurysmal_vascular_disease",),
         esk("§4 item 1"),
         "Aneurysmal vascular disease (aorta, intracranial or peripheral arteries) is a labeled contraindication.",
         condition("aneurysmal_vascular_disease")),
    Rule("esk.arteriovenous_malformation", ESK, EXCLUDE, ("arteriovenous_malformation",),
         esk("§4 item 2"), "Arteriovenous malformation is a labeled contraindication.",
         condition("arteriovenous_malformation")),
    Rule("esk.intracerebral_hemorrhage_history", ESK, EXCLUDE, ("intracerebral_hemorrhage_history",),
         esk("§4 item 3"), "A history of intracerebral haemorrhage is a labeled contraindication.",
         condition("intracerebral_hemorrhage_history")),
    Rule("esk.hypersensitivity", ESK, EXCLUDE, ("hypersensitivity_ketamine",),
         esk("§4 item 4"),
         "Hypersensitivity to esketamine, ketamine or an excipient is a labeled contraindication.",
         condition("hypersensitivity_ketamine")),
    Rule("esk.raised_intracranial_pressure", ESK, EXCLUDE, ("raised_intracranial_pressure",),
         esk(BP_ICP), "Raised intracranial pressure: a further rise in intracranial pressure poses a serious risk.",
         condition("raised_intracranial_pressure")),
    Rule("esk.uncontrolled_hypertension", ESK, EXCLUDE, ("hypertension_uncontrolled",),
         esk(BP_ICP + "; §6 do-not-dose"),
         "Uncontrolled hypertension: the expected BP rise (>= 40/25 mmHg in 8-19 %) poses a serious risk.",
         current("hypertension", "hypertension_uncontrolled")),
    Rule("esk.bp_crisis_level", ESK, EXCLUDE, ("systolic_mmhg", "diastolic_mmhg"),
         esk("§6 do-not-dose (crisis-level BP is uncontrolled hypertension; clinic threshold [S])"),
         BP_CRISIS_MESSAGE, _bp_crisis_level, clears=BP_CRISIS_CLEARS),
    Rule("esk.lacks_capacity_to_consent", ESK, EXCLUDE, ("lacks_capacity_to_consent",),
         esk("§8.2 patients (patient and prescriber sign the Patient Enrollment Form; the patient must understand "
             "the monitoring)"),
         "No capacity to consent: the patient must sign the REMS enrolment and understand observed "
         "self-administration, the 2-hour monitoring and no driving until the next day.",
         condition("lacks_capacity_to_consent")),
    Rule("esk.under_minimum_age", ESK, EXCLUDE, ("date_of_birth",),
         esk("§2 limitations of use (adults; not approved for pediatric patients)"),
         "Age {c.age} is below the minimum of {p.min_age_years}; esketamine is approved for adults only.",
         _under_min_age),
    # -- esketamine: warnings and indication (relative) --------------------------------------------------------
    Rule("esk.baseline_bp_elevated", ESK, CAUTION, ("systolic_mmhg", "diastolic_mmhg"),
         esk("§6 elevated baseline"),
         "Baseline BP {f.systolic_mmhg}/{f.diastolic_mmhg} mmHg is above {p.baseline_systolic_caution_above_mmhg}/"
         "{p.baseline_diastolic_caution_above_mmhg}: weigh the short-term BP rise against benefit and document it.",
         _baseline_bp_elevated),
    Rule("esk.hypertension", ESK, CAUTION, ("hypertension",),
         esk("§5 blood-pressure increase"),
         "Hypertension: BP rises after every dose (peak about 40 min, lasting about 4 h); document BP control.",
         lifetime("hypertension", "hypertension_uncontrolled")),
    Rule("esk.recent_cardiovascular_event", ESK, EXCLUDE, ("diagnoses",),
         esk(BP_ICP),
         "Not eligible now: recent {c.recent_cv_events} (within {p.cv_event_recency_days} days): a rise in blood "
         "pressure poses a serious risk.",
         _recent_cv_event, undecided_fields=("diagnosis_onsets",), clears=CV_EVENT_CLEARS),
    Rule("esk.cardiovascular_disease", ESK, CAUTION, ("cardiovascular_disease",),
         esk(BP_ICP),
         "Cardiovascular disease: the prescriber must judge and document that a BP rise is not a serious risk.",
         condition("cardiovascular_disease")),
    Rule("esk.cerebrovascular_disease", ESK, CAUTION, ("cerebrovascular_disease",),
         esk(BP_ICP),
         "Cerebrovascular disease: the prescriber must judge and document that a BP or intracranial-pressure rise "
         "is not a serious risk.",
         condition("cerebrovascular_disease")),
    Rule("esk.psychosis", ESK, CAUTION, ("psychosis_history",),
         esk("§5 dissociation (assess patients with psychosis carefully)"),
         "Psychosis (current or past): assess carefully before use; dissociation occurs in most patients.",
         lifetime("psychosis_history", "psychosis_current")),
    Rule("esk.mania_or_bipolar", ESK, CAUTION, ("mania_or_bipolar_history",),
         esk("§2 indications (major depressive disorder only)"),
         "Mania or bipolar disorder: the labeled indications are for major depressive disorder; bipolar "
         "depression is off-label.",
         lifetime("mania_or_bipolar_history", "mania_current")),
    Rule("esk.substance_use", ESK, CAUTION, ("substance_use_disorder_history",),
         esk("§5 abuse and misuse"),
         "Substance use disorder (current or past, incl. alcohol): assess abuse risk and monitor for misuse.",
         lifetime("substance_use_disorder_history", "substance_use_disorder_current")),
    Rule("esk.ketamine_misuse_history", ESK, CAUTION, ("ketamine_misuse_history",),
         esk("§5 abuse and misuse"),
         "Past ketamine misuse: esketamine is CIII with abuse potential; document the risk assessment.",
         condition("ketamine_misuse_history")),
    Rule("esk.cns_depressant", ESK, CAUTION, ("takes_benzodiazepine", "takes_opioid", "takes_other_sedative"),
         esk("§5 sedation; drug interactions"),
         "Benzodiazepine, opioid or other sedative: increased sedation; monitor more closely.",
         _cns_depressant),
    Rule("esk.bp_raising_drug", ESK, CAUTION, ("takes_stimulant", "takes_maoi"),
         esk("§5 drug interactions"),
         "Psychostimulant or MAOI: may increase blood pressure further; monitor BP closely.",
         _bp_raising_drug),
    Rule("esk.pregnancy", ESK, CAUTION, ("pregnant",),
         esk("§5 embryo-fetal toxicity"),
         "Pregnancy: embryo-fetal toxicity warning; document the risk-benefit decision (pregnancy registry).",
         condition("pregnant")),
    Rule("esk.breastfeeding", ESK, CAUTION, ("breastfeeding",),
         esk("§5 lactation"), "Breastfeeding is not recommended during treatment.",
         condition("breastfeeding")),
    Rule("esk.interstitial_cystitis", ESK, CAUTION, ("interstitial_cystitis",),
         esk("§5 ulcerative or interstitial cystitis"),
         "Interstitial or ulcerative cystitis: a labeled warning; ask about urinary symptoms at each visit and "
         "document the risk-benefit decision.",
         condition("interstitial_cystitis")),
    Rule("esk.off_label_diagnosis", ESK, CAUTION, ("diagnoses",),
         esk("§2 indications"),
         "No major depressive disorder recorded: esketamine is labeled only for TRD or MDD with acute suicidal "
         "ideation or behavior; use for this diagnosis is off-label.",
         _no_mdd),
    Rule("esk.not_treatment_resistant", ESK, CAUTION, ("diagnoses", "prior_trials"),
         esk("§2 TRD definition"),
         "TRD definition not met: {c.resistance.description}. Labeled use is then only for MDD with acute suicidal "
         "ideation or behavior, together with an oral antidepressant.",
         _trd(False), undecided_fields=("prior_trials",)),
    Rule("esk.meets_trd_definition", ESK, INFO, ("diagnoses", "prior_trials"),
         esk("§2 TRD definition"), "Meets the TRD definition: {c.resistance.description}.",
         _trd(True), undecided_fields=("prior_trials",)),
    Rule("esk.rems_patient_enrollment", ESK, INFO, (),
         esk("§8.2 patients"),
         "Outpatient settings must enroll the patient in the SPRAVATO REMS before the first treatment.",
         _always),
    # -- IV ketamine: trial exclusion criteria and contraindications -------------------------------------------
    Rule("iv.psychosis_current", IV, EXCLUDE, ("psychosis_current",),
         iv("§7 (current psychosis or mania)"), "Current psychosis: excluded.",
         current("psychosis_history", "psychosis_current")),
    Rule("iv.mania_current", IV, EXCLUDE, ("mania_current",),
         iv("§7 (current psychosis or mania)"), "Current mania: excluded.",
         current("mania_or_bipolar_history", "mania_current")),
    Rule("iv.pregnancy", IV, EXCLUDE, ("pregnant",),
         iv("§7 (pregnancy or lactation)"), "Pregnancy: excluded.", condition("pregnant")),
    Rule("iv.breastfeeding", IV, EXCLUDE, ("breastfeeding",),
         iv("§7 (pregnancy or lactation)"), "Breastfeeding: excluded.", condition("breastfeeding")),
    Rule("iv.lacks_capacity_to_consent", IV, EXCLUDE, ("lacks_capacity_to_consent",),
         iv("§7 (lack of capacity to consent); §4 informed consent for off-label use"),
         "No capacity to consent to off-label treatment: excluded.",
         condition("lacks_capacity_to_consent")),
    Rule("iv.ketamine_misuse_history", IV, EXCLUDE, ("ketamine_misuse_history",),
         iv("§7 (more than rare recreational use of ketamine/PCP)"),
         "Past ketamine misuse: excluded.", condition("ketamine_misuse_history")),
    Rule("iv.substance_use_disorder_current", IV, EXCLUDE, ("substance_use_disorder_current",),
         iv("§7 (primary substance use disorder, acute intoxication or withdrawal)"),
         "Current substance use disorder, intoxication or withdrawal: excluded.",
         current("substance_use_disorder_history", "substance_use_disorder_current")),
    Rule("iv.uncontrolled_hypertension", IV, EXCLUDE, ("hypertension_uncontrolled",),
         iv("§7 (unstable medical illness such as uncontrolled hypertension)"),
         "Uncontrolled hypertension: excluded (controlled hypertension is allowed).",
         current("hypertension", "hypertension_uncontrolled")),
    Rule("iv.bp_crisis_level", IV, EXCLUDE, ("systolic_mmhg", "diastolic_mmhg"),
         iv("§7 (uncontrolled hypertension excluded; crisis-level threshold from esketamine-and-rems.md §6 [S])"),
         BP_CRISIS_MESSAGE, _bp_crisis_level, clears=BP_CRISIS_CLEARS),
    Rule("iv.hypersensitivity", IV, EXCLUDE, ("hypersensitivity_ketamine",),
         iv("§7 (medical contraindication to ketamine)"),
         "Hypersensitivity to ketamine: excluded.", condition("hypersensitivity_ketamine")),
    Rule("iv.aneurysmal_vascular_disease", IV, EXCLUDE, ("aneurysmal_vascular_disease",),
         iv(ESK_LIST_FOR_IV), "Aneurysmal vascular disease: excluded.",
         condition("aneurysmal_vascular_disease")),
    Rule("iv.arteriovenous_malformation", IV, EXCLUDE, ("arteriovenous_malformation",),
         iv(ESK_LIST_FOR_IV), "Arteriovenous malformation: excluded.",
         condition("arteriovenous_malformation")),
    Rule("iv.intracerebral_hemorrhage_history", IV, EXCLUDE, ("intracerebral_hemorrhage_history",),
         iv(ESK_LIST_FOR_IV), "History of intracerebral haemorrhage: excluded.",
         condition("intracerebral_hemorrhage_history")),
    Rule("iv.raised_intracranial_pressure", IV, EXCLUDE, ("raised_intracranial_pressure",),
         iv("§7 (unstable medical or neurological illness)"),
         "Raised intracranial pressure: excluded.", condition("raised_intracranial_pressure")),
    Rule("iv.under_minimum_age", IV, EXCLUDE, ("date_of_birth",),
         Citation("evidence.md", "§1-§2 (trials enrolled adults); clinic policy"),
         "Age {c.age} is below the program minimum of {p.min_age_years}.", _under_min_age),
    # -- IV ketamine: relative ---------------------------------------------------------------------------------
    Rule("iv.baseline_bp_elevated", IV, CAUTION, ("systolic_mmhg", "diastolic_mmhg"),
         iv("§3 (baseline BP; cut-off around 140/90 [U]); §6"),
         "Baseline BP {f.systolic_mmhg}/{f.diastolic_mmhg} mmHg is above {p.baseline_systolic_caution_above_mmhg}/"
         "{p.baseline_diastolic_caution_above_mmhg}: BP peaks about 40 min into the infusion; document the decision.",
         _baseline_bp_elevated),
    Rule("iv.hypertension", IV, CAUTION, ("hypertension",),
         iv("§6 (every patient with a hypertension history had a BP surge)"),
         "Hypertension: expect a BP surge during infusion; document BP control.",
         lifetime("hypertension", "hypertension_uncontrolled")),
    Rule("iv.recent_cardiovascular_event", IV, EXCLUDE, ("diagnoses",),
         iv("§7 (unstable medical illness: significant cardiac arrhythmia, unstable cerebrovascular disease)"),
         "Not eligible now: recent {c.recent_cv_events} (within {p.cv_event_recency_days} days): unstable "
         "cardiovascular or cerebrovascular disease is a trial exclusion.",
         _recent_cv_event, undecided_fields=("diagnosis_onsets",), clears=CV_EVENT_CLEARS),
    Rule("iv.cardiovascular_disease", IV, CAUTION, ("cardiovascular_disease",),
         iv("§7 (significant arrhythmia excluded; ischaemic heart disease listed as contraindication [S])"),
         "Cardiovascular disease: document that it is stable and that a BP/HR rise is acceptable.",
         condition("cardiovascular_disease")),
    Rule("iv.cerebrovascular_disease", IV, CAUTION, ("cerebrovascular_disease",),
         iv("§7 (unstable cerebrovascular disease excluded; listed as contraindication [S])"),
         "Cerebrovascular disease: document that it is stable and that a BP rise is acceptable.",
         condition("cerebrovascular_disease")),
    Rule("iv.psychosis_history", IV, CAUTION, ("psychosis_history",),
         iv("§3 (APA: attention to psychosis history)"),
         "History of psychosis: document the assessment; monitor BPRS+ during treatment.",
         lifetime("psychosis_history", "psychosis_current")),
    Rule("iv.substance_use_history", IV, CAUTION, ("substance_use_disorder_history",),
         iv("§3 (APA: attention to substance use); §4 (ASKP3 substance use history)"),
         "History of substance use disorder: document the assessment (consider urine toxicology).",
         lifetime("substance_use_disorder_history", "substance_use_disorder_current")),
    Rule("iv.benzodiazepine_high_dose", IV, CAUTION,
         ("takes_benzodiazepine", "benzodiazepine_lorazepam_eq_mg_per_day"),
         iv("§7 (benzodiazepine > 3 mg/day lorazepam-equivalent)"),
         "Benzodiazepine {f.benzodiazepine_lorazepam_eq_mg_per_day} mg/day lorazepam-equivalent is above "
         "{p.benzodiazepine_caution_above_lorazepam_eq_mg_per_day}: a trial exclusion; may blunt the response.",
         _benzodiazepine_high_dose),
    Rule("iv.cns_depressant", IV, CAUTION, ("takes_benzodiazepine", "takes_opioid", "takes_other_sedative"),
         Citation(ESK_FILE, BY_ANALOGY),
         "Benzodiazepine, opioid or other sedative: increased sedation; monitor more closely.",
         _cns_depressant),
    Rule("iv.bp_raising_drug", IV, CAUTION, ("takes_stimulant", "takes_maoi"),
         Citation(ESK_FILE, BY_ANALOGY),
         "Psychostimulant or MAOI: may increase blood pressure further; monitor BP closely.",
         _bp_raising_drug),
    Rule("iv.no_supported_diagnosis", IV, CAUTION, ("diagnoses",),
         iv("§4 (ASKP3: screen for a condition with supporting evidence); evidence.md §1-§2"),
         "No recorded diagnosis with supporting evidence (depression, bipolar depression, PTSD, OCD, social "
         "anxiety or generalized anxiety disorder): document the rationale.",
         _no_iv_supported_diagnosis),
    Rule("iv.dosing_weight", IV, INFO, ("weight_kg", "height_cm"),
         iv("§1.1 dosing weight"),
         "Weight {c.weight_display} kg, BMI {c.bmi}: record the dosing-weight basis (actual, ideal or adjusted) with "
         "every order.",
         _weight_and_height_recorded),
    # -- both routes: suicide risk and psychotic symptoms (instruments.md) ---------------------------------------
    Rule("suicide.cssrs_high", BOTH, EXCLUDE, ("cssrs_risk",),
         instruments("§6.3 (HIGH: do not dose until evaluated); §6.2 triage"),
         "Not eligible now: C-SSRS screener HIGH risk. Same-day clinician or behavioral-health evaluation, "
         "patient-safety precautions and a higher level of care (emergency pathway per policy) come before any "
         "dose; ketamine treatment does not replace hospitalization when it is indicated.",
         _cssrs_is("high"), clears=SUICIDE_CLEARS),
    Rule("suicide.active_intent", BOTH, EXCLUDE, ("phq9_item9",),
         instruments("§1.3 item 9 rule (score 2-3: urgent review before any dosing); §6.3 (HIGH)"),
         "Not eligible now: active suicidal intent recorded by the clinician (asked whenever PHQ-9 item 9 is at "
         "its highest, \"nearly every day\"). Same-day clinician evaluation and a higher level of care come "
         "before any dose.",
         _active_intent, undecided_fields=("suicidal_intent_current",), clears=SUICIDE_CLEARS),
    Rule("suicide.cssrs_moderate", BOTH, CAUTION, ("cssrs_risk",),
         instruments("§6.2-§6.3 (MODERATE)"),
         "C-SSRS screener MODERATE risk: same-day behavioral-health consult and a safety plan.",
         _cssrs_is("moderate")),
    Rule("suicide.cssrs_low", BOTH, INFO, ("cssrs_risk",),
         instruments("§6.2-§6.3 (LOW)"),
         "C-SSRS screener LOW risk: behavioral-health follow-up, safety plan and crisis resources.",
         _cssrs_is("low")),
    Rule("suicide.phq9_item9_positive", BOTH, CAUTION, ("phq9_item9",),
         instruments("§1.3 item 9 rule"),
         "PHQ-9 item 9 = {f.phq9_item9}: same-day clinician suicide-risk assessment and alert.",
         _phq9_item9_positive),
    Rule("suicide.prior_attempt", BOTH, INFO, ("prior_suicide_attempt",),
         instruments("§6.2 (lifetime suicidal behavior)"),
         "Prior suicide attempt: keep C-SSRS screening on schedule; a negative PHQ-9 item 9 is not reassurance.",
         condition("prior_suicide_attempt")),
    Rule("psychosis.bprs_positive_elevated", BOTH, CAUTION, (),
         instruments("§9 BPRS+ (alert at item >= 4 is clinic policy [U])"),
         "Baseline BPRS+ item {f.bprs_positive_max_item} >= {p.bprs_positive_item_caution_at_least}: "
         "psychotic symptoms at baseline; assess before treatment.",
         _bprs_positive_elevated),
)
# fmt: on

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

# Stops that, once a course has started, the session enforces itself: every C-SSRS HIGH answer raises a suicide-risk
# alert that blocks dosing until a prescriber clears it (safety/domain/rules.py::SUICIDE_RISK_CODES). The route
# clearance's "new exclusion since approval" safety net leaves these to that block, so the prescriber's clearance
# of the alert still lets the session go on; a new evaluation still shows them as "not eligible now".
SESSION_GUARDED_STOPS: frozenset[str] = frozenset({"suicide.cssrs_high"})
_VERDICT_ORDER = {EXCLUDE: 0, CAUTION: 1, INFO: 2}


def rules_for(route: Route | str) -> tuple[Rule, ...]:
    route = Route(route)
    return tuple(rule for rule in RULES if route in rule.routes)


def evaluate(facts: IntakeFacts, route: Route | str, params: EligibilityParams, today: date) -> EligibilityResult:
    """Screen the facts for one route. Raises InvalidFacts (field-specific errors) for refused facts."""
    route = Route(route)
    require_valid(facts, today=today)
    context = Context(facts, params, today)
    findings: list[Finding] = []
    missing: dict[str, None] = {}
    undecided: list[str] = []
    for rule in rules_for(route):
        outcome = rule.applies(context)
        if outcome is True:
            message = rule.message.format(f=facts, p=params, c=context)
            findings.append(Finding(rule.code, rule.verdict, message, rule.citation, rule.clears))
        elif outcome is None:
            undecided.append(rule.code)
            unrecorded = [name for name in rule.needs if getattr(facts, name) is None]
            missing.update(dict.fromkeys(unrecorded or rule.undecided_fields or rule.needs))
    findings.sort(key=lambda finding: _VERDICT_ORDER[finding.verdict])
    verdicts = {finding.verdict for finding in findings}
    if EXCLUDE in verdicts:
        status = Status.NOT_ELIGIBLE
    elif undecided:
        status = Status.INCOMPLETE
    elif CAUTION in verdicts:
        status = Status.ELIGIBLE_WITH_CAUTIONS
    else:
        status = Status.ELIGIBLE
    return EligibilityResult(
        route=route,
        status=status,
        findings=tuple(findings),
        missing_facts=tuple(sorted(missing, key=FACT_NAMES.index)),
        undecided_rules=tuple(undecided),
        ruleset_version=RULESET_VERSION,
        resistance=context.resistance,
    )
