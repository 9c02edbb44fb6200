"""Recording questionnaire responses (scored by the domain, alerts raised, audited), amending them, importing
instrument definitions, loading a clinic's licensed item text and setting its safety-rule thresholds. Each writes its
audit row in the same transaction."""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock, plausible
from ketacare.core.errors import Conflict
from ketacare.core.revisions import revise
from ketacare.instruments.choices import ResponseMode
from ketacare.instruments.domain.fhir import import_fhir_questionnaire
from ketacare.instruments.domain.messages import rule_message
from ketacare.instruments.domain.model import Instrument, Score, ScoreStatus
from ketacare.instruments.domain.registry import apply_licensed_text
from ketacare.instruments.domain.safety import effective_thresholds
from ketacare.instruments.domain.scoring import score
from ketacare.instruments.models import ImportedInstrument, LicensedText, QuestionnaireResponse, SafetyThresholdSetting
from ketacare.instruments.selectors import (
    InstrumentNotFound,
    ResponseNotFound,
    configurable_rules,
    imported_instrument,
    instrument_get,
    safety_thresholds,
    shipped_instruments,
    source_sha256,
)
from ketacare.safety.domain.grouping import Part
from ketacare.safety.services import alert_raise_event

SOURCE_TYPE = "questionnaire_response"
FUTURE_TOLERANCE = plausible.CLOCK_TOLERANCE  # clock skew between a tablet and the server


class ResponseAlreadyAmended(Conflict):
    """This response was already amended: amend the newest version instead."""

    code = "response_already_amended"


class DefinitionConflict(Conflict):
    """A published instrument version never changes: import a new version instead."""

    code = "definition_conflict"


def score_answers(*, instrument: Instrument, answers: Any, baseline: QuestionnaireResponse | None = None,
                  thresholds: Mapping[str, int] | None = None) -> Score:
    """Score without storing (the stateless API). `thresholds` are the clinic's safety-rule overrides
    (selectors.safety_thresholds); the cited defaults without them. Raises InvalidAnswer naming the item."""
    baseline_score = None
    if baseline is not None and baseline.total is not None:
        baseline_score = Score(baseline.instrument_key, baseline.instrument_version, ScoreStatus(baseline.status),
                               baseline.total, baseline.band or None, {}, (), (), {})
    try:
        return score(instrument, answers, baseline=baseline_score, thresholds=thresholds)
    except TypeError as exc:  # neither a list nor a mapping
        raise ValidationError({"answers": str(exc)}) from None


@transaction.atomic
def response_record(*, patient, actor, instrument_key: str, answers: Any, answered_at: dt.datetime, mode: str,
                    context: str = "", baseline: QuestionnaireResponse | None = None) -> QuestionnaireResponse:
    """Score the answers with the instrument's current version, store them with the scores, raise an alert for
    every safety rule that fired (same transaction) and audit. `baseline` (e.g. the pre-dose response) feeds
    rules about a rise. Bad input raises ValidationError or InvalidAnswer and stores nothing."""
    instrument = instrument_get(instrument_key, patient.clinic)
    return _store(patient=patient, actor=actor, instrument=instrument, answers=answers, answered_at=answered_at,
                  mode=mode, context=context, baseline=baseline, supersedes=None, reason="")


@transaction.atomic
def response_amend(*, original: QuestionnaireResponse, actor, answers: Any, answered_at: dt.datetime | None = None,
                   reason: str) -> QuestionnaireResponse:
    """Correct a response: a new response that supersedes the original, scored with the original's instrument
    version. The original and its alerts stay (an alert raised on what was recorded is acknowledged, not erased)."""
    if actor is None or actor.clinic_id != original.clinic_id:
        raise ResponseNotFound()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the amendment."})
    current = QuestionnaireResponse.objects.select_for_update().get(pk=original.pk)
    if QuestionnaireResponse.objects.filter(supersedes=current).exists():
        raise ResponseAlreadyAmended()
    instrument = instrument_get(current.instrument_key, current.patient.clinic, version=current.instrument_version)
    return _store(patient=current.patient, actor=actor, instrument=instrument, answers=answers,
                  answered_at=answered_at or current.answered_at, mode=current.mode, context=current.context,
                  baseline=None, supersedes=current, reason=reason)


def _store(*, patient, actor, instrument: Instrument, answers: Any, answered_at, mode: str, context: str,
           baseline, supersedes, reason: str) -> QuestionnaireResponse:
    staff = actor is not None and getattr(actor, "pk", None) is not None
    if staff and actor.clinic_id != patient.clinic_id:
        raise ResponseNotFound()
    errors = {}
    if mode not in ResponseMode.values:
        errors["mode"] = f"Choose one of {', '.join(ResponseMode.values)}."
    elif mode != ResponseMode.PATIENT_PORTAL and not staff:
        errors["mode"] = "A staff-entered response needs the member of staff who entered it."
    now = clock.now()
    if not isinstance(answered_at, dt.datetime) or answered_at.tzinfo is None:
        errors["answered_at"] = "Give the date and time the answers refer to (with a time zone)."
    else:
        try:
            plausible.check_moment(answered_at, now=now, born_on=patient.date_of_birth,
                                   tz=timezone.get_current_timezone())
        except plausible.Implausible as exc:
            errors["answered_at"] = str(exc)
    if errors:
        raise ValidationError(errors)
    thresholds = safety_thresholds(patient.clinic_id, instrument)
    result = score_answers(instrument=instrument, answers=answers, baseline=baseline, thresholds=thresholds)
    response = QuestionnaireResponse(
        clinic_id=patient.clinic_id, patient=patient, instrument_key=instrument.key,
        instrument_version=instrument.version, answers=raw_answers(instrument, answers), answered_at=answered_at,
        mode=mode, context=(context or "")[:64], entered_by=actor if staff else None, entered_at=now,
        status=result.status.value, total=result.total, band=result.band or "",
        subscales={k: _number(v) for k, v in result.subscales.items()}, missing=list(result.missing),
        item_scores={k: _number(v) for k, v in result.item_scores.items()}, supersedes=supersedes,
        amendment_reason=reason)
    response.full_clean(validate_constraints=False)
    response.save()
    # One submission is one event: its rules that fired are the parts of one alert.
    alert_raise_event(patient=patient, source_type=SOURCE_TYPE, source_id=response.pk, observed_at=answered_at,
                      actor=actor if staff else None,
                      parts=[Part(alert.code, alert.severity.value,
                                  rule_message(instrument.title, alert.code, thresholds.get(alert.code)))
                             for alert in result.alerts])
    data: dict[str, Any] = {"instrument": f"{instrument.key}@{instrument.version}", "status": response.status,
                            "mode": mode,
            "alerts": [a.code for a in result.alerts]}
    if thresholds:
        data["safety_thresholds"] = thresholds  # the clinic's, in force when the rules ran
    if supersedes is not None:
        data |= {"supersedes": supersedes.pk, "reason": reason}
    audit_record(actor=actor if staff else None, username="" if staff else "patient_portal",
                 action=AuditAction.RESPONSE_AMENDED if supersedes is not None else AuditAction.RESPONSE_RECORDED,
                 target=response, patient_id=patient.pk, clinic_id=patient.clinic_id, data=data)
    return response


def raw_answers(instrument: Instrument, answers: Any) -> dict[str, Any]:
    """The answers as entered, keyed by linkId (a list is keyed in item order); unanswered items left out."""
    pairs: Iterable[tuple[str, Any]]
    if isinstance(answers, Mapping):
        pairs = answers.items()
    elif isinstance(answers, Sequence) and not isinstance(answers, str | bytes):
        pairs = zip((i.link_id for i in instrument.items), answers, strict=False)
    else:
        pairs = ()
    return {link_id: _number(value) if isinstance(value, Decimal) else value
            for link_id, value in pairs if value is not None}


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# --- definitions and licensed text -----------------------------------------------------------------------------


@transaction.atomic
def instrument_import(*, source: dict, key: str | None = None, version: str | None = None, bands_from: str = "",
                      clinic=None, actor=None) -> tuple[ImportedInstrument, bool]:
    """Store an imported FHIR R4 Questionnaire as a published (key, version); (row, created). Idempotent for the
    same Questionnaire; a different one under an existing key and version is refused (DefinitionConflict)."""
    shipped = shipped_instruments()
    template = None
    if bands_from:
        template = shipped.get(bands_from)
        if template is None:
            raise InstrumentNotFound(f"--bands-from: no shipped instrument {bands_from!r}")
    instrument = import_fhir_questionnaire(source, key, bands=template.bands if template else (),
                                           higher_is_worse=template.higher_is_worse if template else None)
    key = instrument.key
    version = version or source.get("version") or "1.0.0"
    if key in shipped:
        raise DefinitionConflict(f"{key!r} is a shipped instrument key: import under another --key")
    digest = source_sha256(source)
    existing = ImportedInstrument.objects.filter(key=key, version=version).first()
    if existing is not None:
        same_owner = existing.clinic_id == getattr(clinic, "pk", None)
        if existing.source_sha256 == digest and existing.bands_from == bands_from and same_owner:
            return existing, False
        raise DefinitionConflict(f"{key}@{version} is already published with different content: use a new version")
    same_key = ImportedInstrument.objects.filter(key=key)
    others = same_key.exclude(clinic_id=clinic.pk) if clinic is not None else same_key.exclude(clinic__isnull=True)
    other_owner = others.exists()
    if other_owner:
        raise DefinitionConflict(f"{key!r} already belongs to another clinic (or to all): choose another --key")
    row = ImportedInstrument(clinic=clinic, key=key, version=version, title=instrument.title[:200], source=source,
                             source_sha256=digest, bands_from=bands_from, imported_at=clock.now())
    row.full_clean(validate_constraints=False)
    row.save()
    imported_instrument(row)  # parses it again exactly as it will be read: fails here, not later
    audit_record(actor=actor, username="" if actor else "ketacare instruments import",
                 action=AuditAction.INSTRUMENT_IMPORTED, target=row, clinic_id=getattr(clinic, "pk", None),
                 data={"instrument": f"{key}@{version}", "sha256": digest, "bands_from": bands_from})
    return row, True


@transaction.atomic
def licensed_text_load(*, actor, instrument_key: str, content: Any) -> LicensedText:
    """Store the clinic's licensed wording for an instrument, after checking it changes no scoring
    (domain apply_licensed_text). Replaces the clinic's earlier text for that instrument."""
    instrument = instrument_get(instrument_key)
    if not instrument.licensed:
        raise ValidationError({"instrument": f"{instrument.title} ships its own text; nothing to load."})
    if not isinstance(content, Mapping) or not content:
        raise ValidationError({"content": "Give a JSON object mapping each item's linkId to its wording."})
    try:
        apply_licensed_text(instrument, content)
    except ValueError as exc:
        raise ValidationError({"content": str(exc)}) from None
    text, created = LicensedText.objects.update_or_create(
        clinic_id=actor.clinic_id, instrument_key=instrument.key,
        defaults={"instrument_version": instrument.version, "content": dict(content), "loaded_by": actor,
                  "loaded_at": clock.now()})
    audit_record(actor=actor, action=AuditAction.LICENSED_TEXT_LOADED, target=text,
                 data={"instrument": f"{instrument.key}@{instrument.version}", "items": len(content),
                       "replaced": not created})
    return text


# --- safety-rule thresholds ------------------------------------------------------------------------------------


@transaction.atomic
def safety_thresholds_configure(*, actor, reason: str, thresholds: Mapping[str, int]) -> SafetyThresholdSetting:
    """A new revision of the clinic's safety-rule thresholds (clinic admin): {rule code: threshold} for any of
    `configurable_rules()`; a rule left out, or set to its cited default, keeps the default. Each value must leave
    the rule able to fire (domain.safety.threshold_bounds). Audited as a protocol change."""
    require(actor, Perm.CLINIC_CONFIGURE)
    rules = {rule.code: (instrument, rule) for instrument, rule in configurable_rules()}
    errors, overrides = {}, {}
    for code, value in thresholds.items():
        if code not in rules:
            errors[code] = "No safety rule with a threshold has this code."
            continue
        instrument, rule = rules[code]
        try:
            effective_thresholds(instrument, {code: value})
        except ValueError as exc:
            errors[code] = str(exc)
            continue
        if value != rule.threshold:
            overrides[code] = int(value)
    if errors:
        raise ValidationError(errors)
    setting = revise(SafetyThresholdSetting, actor=actor, reason=reason, overrides=overrides,
                     reason_prompt="Say why the thresholds change (e.g. medical director decision of ...).")
    audit_record(actor=actor, action=AuditAction.PROTOCOL_CONFIGURED, target=setting,
                 data={"safety_thresholds": overrides, "revision": setting.revision})
    return setting
