"""Reading intake, eligibility decisions and consents; `route_clearance` answers "may a course of this route start?".

Pages and the API first resolve the patient with `patients.selectors.patient_get_for` (clinic-scoped); the
id-based getters here are scoped to the asking user's clinic and role and raise NotFound otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.errors import DomainError, NotFound
from ketacare.core.revisions import current_revision, revision_history
from ketacare.screening.domain import icd10
from ketacare.screening.domain.facts import CssrsRisk, IntakeFacts, InvalidFacts
from ketacare.screening.domain.indications import indication_problems
from ketacare.screening.domain.resistance import ResistanceSummary, Response, TreatmentTrial, TrialKind, summarize
from ketacare.screening.domain.rules import (
    RULESET_VERSION,
    SESSION_GUARDED_STOPS,
    EligibilityParams,
    Route,
    Verdict,
    evaluate,
)
from ketacare.screening.domain.snapshot import params_to_dict
from ketacare.screening.models import (
    ConsentDocument,
    EligibilityDecision,
    EligibilitySetting,
    Intake,
    Outcome,
    PatientConsent,
    RouteChoice,
    StatusChoice,
)


class DecisionNotFound(NotFound):
    """Eligibility decision not found."""

    code = "decision_not_found"


class ConsentNotFound(NotFound):
    """Consent not found."""

    code = "consent_not_found"


class ConsentDocumentNotFound(NotFound):
    """Consent document not found."""

    code = "consent_document_not_found"


class UnknownRoute(DomainError):
    """Unknown route: use "iv-ketamine" or "esketamine"."""

    code = "unknown_route"
    http_status = 422


def eligibility_setting_current(clinic_id: int) -> EligibilitySetting | None:
    return current_revision(EligibilitySetting, clinic_id=clinic_id)


def eligibility_setting_history(clinic_id: int) -> list[EligibilitySetting]:
    return revision_history(EligibilitySetting, clinic_id=clinic_id)


def eligibility_params(clinic_id: int) -> EligibilityParams:
    """The clinic's screening thresholds: its newest revision applied to the cited defaults."""
    setting = eligibility_setting_current(clinic_id)
    return EligibilityParams().with_overrides(setting.overrides) if setting is not None else EligibilityParams()


def decision_is_current(decision: EligibilityDecision, *, digest: str, params: EligibilityParams) -> bool:
    """Whether an evaluation still stands: same facts, same rule set and the clinic's thresholds unchanged."""
    return (decision.facts_digest == digest and decision.ruleset_version == RULESET_VERSION
            and decision.params == params_to_dict(params))


def route_of(route: str) -> Route:
    try:
        return Route(route)
    except ValueError:
        raise UnknownRoute(f"Unknown route {route!r}: use \"iv-ketamine\" or \"esketamine\".") from None


def route_label(route: str) -> str:
    return dict(RouteChoice.choices).get(str(route), str(route))


# --- intake -----------------------------------------------------------------------------------------------------


def intake_of(patient) -> Intake | None:
    """The patient's intake, if one was started (the caller already holds a clinic-scoped patient)."""
    return Intake.objects.filter(patient=patient).select_related("updated_by").first()


@dataclass(frozen=True)
class BaselineQuestionnaires:
    """Facts taken from the patient's questionnaire responses (instruments app), and which responses they came
    from: {"cssrs-screen": response id, ...}."""

    cssrs_risk: CssrsRisk | None = None
    phq9_total: int | None = None
    phq9_item9: int | None = None
    bprs_positive_max_item: int | None = None
    sources: dict[str, int] = field(default_factory=dict)
    responses: dict[str, Any] = field(default_factory=dict)


CSSRS_KEY, PHQ9_KEY, BPRS_KEY = "cssrs-screen", "phq-9", "bprs-positive"
PHQ9_ITEM9_LINK_ID = "/44260-8"  # LOINC 44260-8, item 9 (instruments.md §1.1)
BASELINE_KEYS = (CSSRS_KEY, PHQ9_KEY, BPRS_KEY)


def baseline_questionnaires(patient) -> BaselineQuestionnaires:
    """The newest current C-SSRS screener, PHQ-9 and BPRS+ responses. An incomplete response gives no fact:
    a missing PHQ-9 item 9 is never read as 0 (instruments.md §1.3)."""
    from ketacare.instruments.selectors import latest_responses

    latest = {k: r for k, r in latest_responses(patient=patient).items() if k in BASELINE_KEYS}
    values: dict[str, Any] = {}
    sources: dict[str, int] = {}
    cssrs = latest.get(CSSRS_KEY)
    if cssrs is not None and cssrs.band in {r.value for r in CssrsRisk}:
        values["cssrs_risk"] = CssrsRisk(cssrs.band)
        sources[CSSRS_KEY] = cssrs.pk
    phq9 = latest.get(PHQ9_KEY)
    if phq9 is not None:
        item9 = _whole(phq9.item_scores.get(PHQ9_ITEM9_LINK_ID))
        total = _whole(phq9.total) if not phq9.missing else None
        if item9 is not None:
            values["phq9_item9"] = item9
        if total is not None:
            values["phq9_total"] = total
        if item9 is not None or total is not None:
            sources[PHQ9_KEY] = phq9.pk
    bprs = latest.get(BPRS_KEY)
    if bprs is not None:
        items = [v for v in (_whole(x) for x in (bprs.item_scores or {}).values()) if v is not None]
        if items:
            values["bprs_positive_max_item"] = max(items)
            sources[BPRS_KEY] = bprs.pk
    return BaselineQuestionnaires(**values, sources=sources, responses=latest)


def _whole(value: Any) -> int | None:
    if value is None:
        return None
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else None


def intake_facts(patient, intake: Intake | None, questionnaires: BaselineQuestionnaires | None = None) -> IntakeFacts:
    """The domain facts of a stored intake (lists that are not marked complete are unknown, never "none")."""
    q = questionnaires if questionnaires is not None else BaselineQuestionnaires()
    base: dict[str, Any] = {
        "date_of_birth": patient.date_of_birth,
        "cssrs_risk": q.cssrs_risk,
        "phq9_total": q.phq9_total,
        "phq9_item9": q.phq9_item9,
        "bprs_positive_max_item": q.bprs_positive_max_item,
    }
    if intake is None:
        return IntakeFacts(**base)
    for name in BOOL_FACT_FIELDS:
        base[name] = getattr(intake, name)
    base["weight_kg"] = _normal(intake.weight_kg)
    base["height_cm"] = _normal(intake.height_cm)
    base["systolic_mmhg"] = intake.systolic_mmhg
    base["diastolic_mmhg"] = intake.diastolic_mmhg
    base["heart_rate_bpm"] = intake.heart_rate_bpm
    if intake.diagnoses_complete:
        rows = list(intake.diagnoses.all())
        base["diagnoses"] = tuple(d.code for d in rows)
        base["diagnosis_onsets"] = tuple((d.code, d.onset_on) for d in rows if d.onset_on is not None)
    if intake.medications_complete:
        base.update(medication_facts(list(intake.medications.all())))
    if intake.trials_complete:
        base["prior_trials"] = tuple(trial_fact(t) for t in intake.trials.all())
    return IntakeFacts(**base)


BOOL_FACT_FIELDS = (
    "psychosis_history", "psychosis_current", "mania_or_bipolar_history", "mania_current",
    "substance_use_disorder_history", "substance_use_disorder_current", "ketamine_misuse_history",
    "prior_suicide_attempt", "suicidal_intent_current", "lacks_capacity_to_consent", "hypertension",
    "hypertension_uncontrolled",
    "aneurysmal_vascular_disease", "arteriovenous_malformation", "intracerebral_hemorrhage_history",
    "cardiovascular_disease", "cerebrovascular_disease", "raised_intracranial_pressure", "hepatic_disease",
    "interstitial_cystitis",
    "pregnant", "breastfeeding", "hypersensitivity_ketamine",
)


def _normal(value: Decimal | None) -> Decimal | None:
    """Drop the trailing zeros of the fixed-point column (70.0000000000 -> 70) so snapshots read naturally."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def medication_facts(medications: list) -> dict[str, Any]:
    """Class flags of a complete medication list; the benzodiazepine dose is the sum of the lorazepam
    equivalents, unknown if any benzodiazepine lacks one."""
    benzos = [m for m in medications if m.is_benzodiazepine]
    doses = [m.lorazepam_eq_mg_per_day for m in benzos]
    return {
        "takes_benzodiazepine": bool(benzos),
        "benzodiazepine_lorazepam_eq_mg_per_day": (
            sum(doses, Decimal(0)) if benzos and None not in doses else (Decimal(0) if not benzos else None)),
        "takes_stimulant": any(m.is_stimulant for m in medications),
        "takes_maoi": any(m.is_maoi for m in medications),
        "takes_lamotrigine": any(m.is_lamotrigine for m in medications),
        "takes_opioid": any(m.is_opioid for m in medications),
        "takes_other_sedative": any(m.is_other_sedative for m in medications),
        "takes_oral_antidepressant": any(m.is_oral_antidepressant for m in medications),
    }


def trial_fact(trial) -> TreatmentTrial:
    return TreatmentTrial(
        name=trial.name,
        kind=TrialKind(trial.kind),
        dose_mg_per_day=_normal(trial.dose_mg_per_day),
        duration_weeks=trial.duration_weeks,
        adequate=trial.adequate,
        response=Response(trial.response) if trial.response else None,
        current_episode=trial.current_episode,
    )


def resistance_summary(intake: Intake | None) -> ResistanceSummary | None:
    trials = [trial_fact(t) for t in intake.trials.all()] if intake is not None else []
    if not trials or intake is None:
        return None
    return summarize(trials, min_failed_trials=eligibility_params(intake.clinic_id).trd_min_failed_trials)


def diagnosis_title(code: str) -> str:
    entry = icd10.TABLE.get(code)
    return entry.title if entry else ""


# --- decisions ----------------------------------------------------------------------------------------------------


def _decisions_visible_to(user) -> QuerySet[EligibilityDecision]:
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return EligibilityDecision.objects.none()
    return EligibilityDecision.objects.filter(clinic_id=user.clinic_id)


def decision_get_for(*, user, decision_id: int, patient_id: int | None = None) -> EligibilityDecision:
    """Raises DecisionNotFound whether absent, another clinic's, or (given patient_id) another patient's."""
    decisions = _decisions_visible_to(user).select_related("patient", "evaluated_by", "signed_by", "cosigned_by")
    if patient_id is not None:
        decisions = decisions.filter(patient_id=patient_id)
    try:
        return decisions.get(pk=decision_id)
    except EligibilityDecision.DoesNotExist:
        raise DecisionNotFound() from None


def decisions_for(patient, *, route: str | None = None) -> QuerySet[EligibilityDecision]:
    """Newest first. The caller already holds a clinic-scoped patient."""
    decisions = EligibilityDecision.objects.filter(patient=patient).select_related(
        "evaluated_by", "signed_by", "cosigned_by")
    return decisions.filter(route=route) if route else decisions


def latest_decisions(patient) -> dict[str, EligibilityDecision]:
    latest: dict[str, EligibilityDecision] = {}
    for decision in decisions_for(patient):
        latest.setdefault(decision.route, decision)
    return latest


# --- consent ------------------------------------------------------------------------------------------------------


def consent_documents_for(*, user) -> QuerySet[ConsentDocument]:
    """Every version (drafts too) for the clinic admin; published ones for clinical staff."""
    documents = ConsentDocument.objects.filter(clinic_id=user.clinic_id).select_related("published_by", "created_by")
    if user.has_perm_to(Perm.CLINIC_CONFIGURE):
        return documents
    if user.has_perm_to(Perm.CLINICAL_VIEW):
        return documents.filter(published_at__isnull=False)
    return ConsentDocument.objects.none()


def consent_document_get_for(*, user, document_id: int) -> ConsentDocument:
    try:
        return consent_documents_for(user=user).get(pk=document_id)
    except ConsentDocument.DoesNotExist:
        raise ConsentDocumentNotFound() from None


def current_consent_document(clinic, route: str, on: dt.date | None = None) -> ConsentDocument | None:
    """The published version in effect on `on` (today): the one with the latest effective date."""
    on = on or clock.today()
    return (ConsentDocument.objects.filter(clinic=clinic, route=route, published_at__isnull=False,
                                           effective_on__lte=on)
            .order_by("-effective_on", "-published_at", "-id").first())


def consents_for(patient, *, route: str | None = None) -> QuerySet[PatientConsent]:
    consents = PatientConsent.objects.filter(patient=patient).select_related(
        "document", "witness", "recorded_by", "withdrawal_recorded_by")
    return consents.filter(route=route) if route else consents


def consent_get_for(*, user, consent_id: int) -> PatientConsent:
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        raise ConsentNotFound()
    try:
        return PatientConsent.objects.select_related("patient", "document").get(pk=consent_id,
                                                                                clinic_id=user.clinic_id)
    except PatientConsent.DoesNotExist:
        raise ConsentNotFound() from None


def current_consent(patient, route: str, on: dt.date | None = None) -> PatientConsent | None:
    """The newest consent to `route` signed on or before `on` and not withdrawn by then.

    A withdrawal ends consent to the whole route: an older consent (e.g. to an earlier document version) never
    becomes current again; only a consent signed after the latest withdrawal counts.
    """
    on = on or clock.today()
    consents = [c for c in consents_for(patient, route=route) if _local_date(c.signed_at) <= on]
    withdrawals = [c.withdrawn_at for c in consents if c.withdrawn_at is not None and _local_date(c.withdrawn_at) <= on]
    last_withdrawal = max(withdrawals, default=None)
    for consent in consents:  # newest first
        if last_withdrawal is not None and consent.signed_at <= last_withdrawal:
            return None
        if consent.withdrawn_at is None or _local_date(consent.withdrawn_at) > on:
            return consent
    return None


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment)


# --- clearance ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clearance:
    """Whether a treatment course of `route` may start on a date, and if not, every reason why (human words)."""

    ok: bool
    reasons: list[str]
    decision: EligibilityDecision | None  # the signed decision that counts (approval or the one that blocks)
    consent: PatientConsent | None  # the current consent, if any


class RouteNotCleared(DomainError):
    """A treatment course cannot start: eligibility approval or consent is missing."""

    code = "route_not_cleared"
    http_status = 409


def route_clearance(*, patient, route: str, on: dt.date) -> Clearance:
    """A course may start only with an effective signed approval for the route (approved, or an exclusion
    override co-signed by a second prescriber) and a current, not withdrawn consent to that route.

    The newest signed decision counts: a later decline or an override still awaiting co-signature revokes an
    earlier approval. A newer evaluation that found an exclusion also blocks until a prescriber decides on it, and
    so does an exclusion the current intake shows that the approved evaluation did not (an edit after approval).
    """
    route = route_of(route)
    label = route_label(route)
    reasons: list[str] = []
    decisions = [d for d in decisions_for(patient, route=route) if _local_date(d.evaluated_at) <= on]
    signed = [d for d in decisions if d.signed_at is not None and _local_date(d.signed_at) <= on]
    decision = signed[0] if signed else None
    if decision is None:
        reasons.append(f"No signed eligibility approval for {label}")
    elif decision.outcome == Outcome.DECLINE:
        reasons.append(f"Eligibility for {label} was declined on {_day(decision.signed_at)} "
                       f"by {_name(decision.signed_by)}")
    elif decision.outcome == Outcome.OVERRIDE and (
            decision.cosigned_at is None or _local_date(decision.cosigned_at) > on):
        reasons.append(f"The override of an exclusion for {label} awaits a second prescriber's co-signature")
    newest = decisions[0] if decisions else None
    if decision is not None and newest is not None and newest.signed_at is None \
            and newest.status == StatusChoice.NOT_ELIGIBLE:
        reasons.append(f"A newer evaluation ({_day(newest.evaluated_at)}) found an exclusion for {label}; "
                       "a prescriber must review it")
    elif decision is not None and decision.is_effective_approval:
        known = {f["rule_code"] for f in decision.findings if f["verdict"] == "exclude"}
        new = [message for code, message in _current_exclusions(patient, route, on).items() if code not in known]
        if new:
            reasons.append(f"The intake now shows an exclusion for {label} that was not there when it was approved "
                           f"({' '.join(new)}); evaluate again for a prescriber's decision")
    consent = current_consent(patient, route, on)
    if consent is None:
        withdrawn = next((c for c in consents_for(patient, route=route)
                          if c.withdrawn_at is not None and _local_date(c.withdrawn_at) <= on), None)
        if withdrawn is not None:
            reasons.append(f"Consent to {label} withdrawn on {_day(withdrawn.withdrawn_at)}")
        else:
            reasons.append(f"No consent to {label} on file")
    return Clearance(ok=not reasons, reasons=reasons, decision=decision, consent=consent)


def _current_exclusions(patient, route: Route, on: dt.date) -> dict[str, str]:
    """Exclusions the rules find in the intake as it stands now (a safety net for edits made after approval)."""
    facts = intake_facts(patient, intake_of(patient), baseline_questionnaires(patient))
    try:
        result = evaluate(facts, route, eligibility_params(patient.clinic_id), on)
    except InvalidFacts:
        return {}
    return {f.rule_code: f.message for f in result.findings
            if f.verdict == Verdict.EXCLUDE and f.rule_code not in SESSION_GUARDED_STOPS}


def indication_problems_for(*, patient, indication: str) -> tuple[str, ...]:
    """What the current intake lacks for a labeled indication (domain/indications.py), e.g. the oral
    antidepressant of the esketamine MDSI indication; empty when nothing is missing."""
    facts = intake_facts(patient, intake_of(patient), baseline_questionnaires(patient))
    return indication_problems(facts, indication)


def route_clearance_require(*, patient, route: str, on: dt.date) -> Clearance:
    """`route_clearance`, raising RouteNotCleared (HTTP 409, the reasons in its message) when it is not ok."""
    clearance = route_clearance(patient=patient, route=route, on=on)
    if not clearance.ok:
        raise RouteNotCleared("; ".join(clearance.reasons) + ".", reasons=clearance.reasons)
    return clearance


def _day(moment: dt.datetime | None) -> str:
    return _local_date(moment).isoformat() if moment is not None else "an unrecorded date"


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "unknown"
