"""Evaluating eligibility, the prescriber's signed decision and co-signature, and the clinic's screening
thresholds."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.revisions import revise
from ketacare.screening import selectors
from ketacare.screening.domain.facts import IntakeFacts, InvalidFacts
from ketacare.screening.domain.rules import RULESET_VERSION, EligibilityParams, ParamsInvalid, evaluate
from ketacare.screening.domain.snapshot import facts_digest, facts_to_dict, params_to_dict, result_to_dict
from ketacare.screening.models import (
    EligibilityDecision,
    EligibilitySetting,
    Outcome,
    StatusChoice,
)
from ketacare.screening.services.errors import DecisionLocked, DecisionSuperseded, IntakeChanged, NotAwaitingCosign
from ketacare.screening.services.intake import _fact_errors_to_validation

# --- evaluation and decisions -------------------------------------------------------------------------------------


def current_facts(patient) -> tuple[IntakeFacts, selectors.BaselineQuestionnaires]:
    """The facts the rules would see now: the stored intake plus the newest baseline questionnaires."""
    questionnaires = selectors.baseline_questionnaires(patient)
    return selectors.intake_facts(patient, selectors.intake_of(patient), questionnaires), questionnaires


@transaction.atomic
def eligibility_evaluate(*, actor, patient, routes: list[str] | None = None) -> list[EligibilityDecision]:
    """Evaluate the current facts for each route and record the result (unsigned) after the previous evaluation.

    An unsigned evaluation of identical facts under the same rules on the same day is reused, not repeated.
    """
    facts, questionnaires = current_facts(patient)
    today = clock.today()
    params = selectors.eligibility_params(patient.clinic_id)
    digest = facts_digest(facts)
    decisions = []
    for route in routes or [r.value for r in selectors.Route]:
        route = selectors.route_of(route)
        try:
            result = evaluate(facts, route, params, today)
        except InvalidFacts as exc:
            raise _fact_errors_to_validation(exc.errors) from None
        previous = (EligibilityDecision.objects.select_for_update()
                    .filter(patient=patient, route=route).order_by("-evaluated_at", "-id").first())
        if (previous is not None and previous.signed_at is None and previous.evaluated_on == today
                and selectors.decision_is_current(previous, digest=digest, params=params)):
            decisions.append(previous)
            continue
        snapshot = result_to_dict(result)
        decision = EligibilityDecision(
            clinic_id=patient.clinic_id, patient=patient, route=route, previous=previous,
            evaluated_at=clock.now(), evaluated_on=today, evaluated_by=actor,
            ruleset_version=result.ruleset_version, status=result.status.value,
            findings=snapshot["findings"], missing_facts=snapshot["missing_facts"],
            resistance=snapshot["resistance"], facts=facts_to_dict(facts), facts_digest=digest,
            params=params_to_dict(params), sources=questionnaires.sources)
        decision.full_clean(exclude=["previous"], validate_constraints=False)
        decision.save()
        audit_record(actor=actor, action=AuditAction.ELIGIBILITY_EVALUATED, target=decision, patient_id=patient.pk,
                     data={"route": str(route), "status": decision.status, "ruleset_version": RULESET_VERSION})
        decisions.append(decision)
    return decisions


MIN_JUSTIFICATION = 10


def _require_prescriber(actor) -> None:
    require(actor, Perm.PRESCRIBE, "Only a prescriber can sign eligibility decisions.")


@transaction.atomic
def decision_sign(*, actor, decision: EligibilityDecision, outcome: str,
                  justification: str = "") -> EligibilityDecision:
    """The prescriber's decision on an evaluation: approve (cautions need a written justification), decline
    (with a reason), or override an exclusion (with a reason; takes effect only after a second prescriber
    co-signs). The evaluation must be the newest for its route and its facts still current."""
    _require_prescriber(actor)
    decision = EligibilityDecision.objects.select_for_update().select_related("patient").get(pk=decision.pk)
    if decision.signed_at is not None:
        raise DecisionLocked()
    newest = (EligibilityDecision.objects.filter(patient_id=decision.patient_id, route=decision.route)
              .order_by("-evaluated_at", "-id").values_list("pk", flat=True).first())
    if newest != decision.pk:
        raise DecisionSuperseded()
    facts, _ = current_facts(decision.patient)
    if not selectors.decision_is_current(decision, digest=facts_digest(facts),
                                         params=selectors.eligibility_params(decision.clinic_id)):
        raise IntakeChanged()
    justification = (justification or "").strip()
    errors = _sign_errors(decision, outcome, justification)
    if errors:
        raise ValidationError(errors)
    decision.outcome = outcome
    decision.justification = justification
    decision.signed_by = actor
    decision.signed_at = clock.now()
    decision.full_clean(exclude=["previous"], validate_constraints=False)
    decision.save()
    audit_record(actor=actor, action=AuditAction.ELIGIBILITY_SIGNED, target=decision, patient_id=decision.patient_id,
                 data={"route": decision.route, "outcome": outcome, "status": decision.status})
    return decision


def _sign_errors(decision: EligibilityDecision, outcome: str, justification: str) -> dict[str, list[str]]:
    status = decision.status
    short = len(justification) < MIN_JUSTIFICATION
    if outcome not in Outcome.values:
        return {"outcome": ["Choose approve, decline or override."]}
    if outcome == Outcome.APPROVE:
        if status == StatusChoice.NOT_ELIGIBLE:
            return {"outcome": ["An exclusion applies: approval is not possible. Decline, or override the "
                                "exclusion with a reason and a second prescriber's co-signature."]}
        if status == StatusChoice.INCOMPLETE:
            return {"outcome": ["The assessment is incomplete (missing: " + ", ".join(decision.missing_facts)
                                + "). Complete the intake and evaluate again."]}
        if status == StatusChoice.ELIGIBLE_WITH_CAUTIONS and short:
            return {"justification": [f"Cautions apply: write a justification (at least {MIN_JUSTIFICATION} "
                                      "characters) for each of them."]}
    if outcome == Outcome.DECLINE and short:
        return {"justification": [f"Write the reason for declining (at least {MIN_JUSTIFICATION} characters)."]}
    if outcome == Outcome.OVERRIDE:
        if status != StatusChoice.NOT_ELIGIBLE:
            return {"outcome": ["Override is only for an exclusion; nothing here is excluded."]}
        if decision.missing_facts:
            return {"outcome": ["Record the missing facts first (" + ", ".join(decision.missing_facts)
                                + "), then evaluate again."]}
        if short:
            return {"justification": [f"Write the reason for overriding the exclusion (at least "
                                      f"{MIN_JUSTIFICATION} characters)."]}
    return {}


@transaction.atomic
def decision_cosign(*, actor, decision: EligibilityDecision) -> EligibilityDecision:
    """A second, different prescriber co-signs an override, which then takes effect."""
    _require_prescriber(actor)
    decision = EligibilityDecision.objects.select_for_update().get(pk=decision.pk)
    if not decision.awaiting_cosign or decision.signed_at is None:
        raise NotAwaitingCosign()
    if decision.signed_by_id == actor.pk:
        raise ValidationError({"cosigned_by": ["A second, different prescriber must co-sign the override."]})
    decision.cosigned_by = actor
    decision.cosigned_at = clock.now()
    decision.save()
    audit_record(actor=actor, action=AuditAction.ELIGIBILITY_COSIGNED, target=decision,
                 patient_id=decision.patient_id, data={"route": decision.route, "signed_by": decision.signed_by_id})
    return decision


# --- clinic thresholds --------------------------------------------------------------------------------------------


@transaction.atomic
def eligibility_params_configure(*, actor, reason: str, **values: Any) -> EligibilitySetting:
    """A new revision of the clinic's screening thresholds (clinic admin). Values are checked against the bounds
    the sources allow (`domain.rules.PARAM_SPECS`); only those that differ from the cited defaults are stored.
    Audited as a protocol change: the thresholds are the clinic's screening protocol."""
    require(actor, Perm.CLINIC_CONFIGURE)
    try:
        params = EligibilityParams().with_overrides(values)
    except ParamsInvalid as exc:
        raise ValidationError({name: [message] for name, message in exc.errors.items()}) from None
    setting = revise(EligibilitySetting, actor=actor, reason=reason, overrides=params.overrides(),
                     reason_prompt="Say why the thresholds change (e.g. medical director decision of …).")
    audit_record(actor=actor, action=AuditAction.PROTOCOL_CONFIGURED, target=setting,
                 data={"eligibility_params": setting.overrides, "revision": setting.revision})
    return setting
