"""Reading instruments and questionnaire responses. Responses are scoped to the asking user's clinic and role."""

import hashlib
import json
from functools import cache
from typing import Any

from django.db.models import QuerySet

from ketacare.accounts.roles import Perm
from ketacare.core.errors import NotFound, PermissionDenied
from ketacare.core.revisions import current_revision, revision_history
from ketacare.instruments.choices import ResponseStatus
from ketacare.instruments.domain.fhir import import_fhir_questionnaire
from ketacare.instruments.domain.model import RULE_KINDS_WITH_THRESHOLD, Instrument, SafetyRule
from ketacare.instruments.domain.registry import apply_licensed_text, load_all_versions
from ketacare.instruments.domain.safety import FIXED_RULES
from ketacare.instruments.models import (
    ImportedInstrument,
    LicensedText,
    QuestionnaireResponse,
    ResponseQuerySet,
    SafetyThresholdSetting,
)


class InstrumentNotFound(NotFound):
    """Unknown instrument."""

    code = "instrument_not_found"


class ResponseNotFound(NotFound):
    """Questionnaire response not found."""

    code = "response_not_found"


# --- instruments ------------------------------------------------------------------------------------------------


def shipped_instruments() -> dict[str, Instrument]:
    """{key: latest shipped version} (the public keys of issue 3), without clinic text."""
    return {key: list(versions.values())[-1] for key, versions in load_all_versions().items()}


def instrument_get(key: str, clinic=None, *, version: str | None = None) -> Instrument:
    """The instrument (shipped or imported for all clinics or for `clinic`), latest version unless `version` is
    given, with `clinic`'s licensed item text applied. Raises InstrumentNotFound."""
    shipped = load_all_versions().get(key)
    if shipped is not None:
        if version is None:
            instrument = list(shipped.values())[-1]
        elif version in shipped:
            instrument = shipped[version]
        else:
            raise InstrumentNotFound(f"{key}@{version} is not a known version")
    else:
        rows = _imported_rows(clinic).filter(key=key)
        row = rows.filter(version=version).first() if version else rows.order_by("-id").first()
        if row is None:
            raise InstrumentNotFound(f"no instrument {key!r}")
        instrument = imported_instrument(row)
    return with_clinic_text(instrument, clinic)


def instruments_available(clinic=None) -> list[Instrument]:
    """Every instrument the clinic can record: shipped first (registry order), then imported; latest versions,
    with the clinic's licensed text. Two queries."""
    instruments = list(shipped_instruments().values())
    latest: dict[str, ImportedInstrument] = {}
    for row in _imported_rows(clinic).order_by("id"):
        latest[row.key] = row
    instruments += [imported_instrument(row) for row in latest.values()]
    texts = _licensed_texts(clinic)
    return [_apply(i, texts.get(i.key)) for i in instruments]


def imported_instrument(row: ImportedInstrument) -> Instrument:
    """The stored Questionnaire re-imported exactly as at import time (parsed once per process)."""
    return _parse_imported(row.key, row.version, row.source_sha256, json.dumps(row.source, sort_keys=True),
                           row.bands_from)


@cache
def _parse_imported(key: str, version: str, sha256: str, source_json: str, bands_from: str) -> Instrument:
    from dataclasses import replace

    source = json.loads(source_json)
    template = shipped_instruments().get(bands_from) if bands_from else None
    instrument = import_fhir_questionnaire(
        source, key, bands=template.bands if template else (),
        higher_is_worse=template.higher_is_worse if template else None)
    return replace(instrument, version=version)


def source_sha256(source: dict) -> str:
    """Fingerprint of a Questionnaire, independent of key order and whitespace."""
    return hashlib.sha256(json.dumps(source, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _imported_rows(clinic) -> QuerySet[ImportedInstrument]:
    from django.db.models import Q

    clinic_id = getattr(clinic, "pk", clinic)
    return ImportedInstrument.objects.filter(Q(clinic__isnull=True) | Q(clinic_id=clinic_id))


def imported_for(clinic=None) -> QuerySet[ImportedInstrument]:
    return _imported_rows(clinic).order_by("key", "id")


def with_clinic_text(instrument: Instrument, clinic) -> Instrument:
    if clinic is None or not instrument.licensed:
        return instrument
    return _apply(instrument, _licensed_texts(clinic).get(instrument.key))


def licensed_text_get(*, clinic, instrument_key: str) -> LicensedText | None:
    return LicensedText.objects.filter(clinic=clinic, instrument_key=instrument_key).first()


def licensed_texts_for(*, clinic) -> dict[str, LicensedText]:
    return {t.instrument_key: t for t in LicensedText.objects.filter(clinic=clinic).select_related("loaded_by")}


def _licensed_texts(clinic) -> dict[str, dict]:
    if clinic is None:
        return {}
    return dict(LicensedText.objects.filter(clinic=clinic).values_list("instrument_key", "content"))


def _apply(instrument: Instrument, content: dict | None) -> Instrument:
    if not content or not instrument.licensed:
        return instrument
    try:
        return apply_licensed_text(instrument, content)
    except ValueError:
        # Text checked against an earlier version whose items differ: show the neutral labels, never wrong text.
        return instrument


# --- safety-rule thresholds -------------------------------------------------------------------------------------


def configurable_rules() -> list[tuple[Instrument, SafetyRule]]:
    """Every shipped safety rule with a threshold a clinic may set, in registry order (not the FIXED_RULES)."""
    return [(instrument, rule) for instrument in shipped_instruments().values()
            for rule in instrument.safety_rules
            if rule.kind in RULE_KINDS_WITH_THRESHOLD and rule.code not in FIXED_RULES]


def safety_setting_history(clinic_id: int) -> list[SafetyThresholdSetting]:
    return revision_history(SafetyThresholdSetting, clinic_id=clinic_id)


def safety_setting_current(clinic_id: int) -> SafetyThresholdSetting | None:
    return current_revision(SafetyThresholdSetting, clinic_id=clinic_id)


def safety_thresholds(clinic_id: int, instrument: Instrument) -> dict[str, int]:
    """The clinic's overrides of this instrument's rule thresholds (its newest revision); empty means the cited
    defaults of the definition. One query."""
    setting = safety_setting_current(clinic_id)
    codes = {rule.code for rule in instrument.safety_rules}
    return {code: value for code, value in (setting.overrides if setting else {}).items() if code in codes}


# --- responses --------------------------------------------------------------------------------------------------


def responses_for(*, user, patient, instrument_key: str | None = None) -> ResponseQuerySet:
    """Every response of the patient, amended originals included (use `.current()` for the live ones), newest
    first. Empty unless the user may see clinical data of this clinic's patients."""
    if not user.has_perm_to(Perm.CLINICAL_VIEW) or patient.clinic_id != user.clinic_id:
        return QuestionnaireResponse.objects.none()
    responses = QuestionnaireResponse.objects.filter(patient=patient).select_related(
        "entered_by", "supersedes", "superseded_by")
    if instrument_key:
        responses = responses.filter(instrument_key=instrument_key)
    return responses


def responses_of_patients_for(*, user, patient_ids: list[int]) -> ResponseQuerySet:
    """Every response of many patients of the user's clinic at once (bulk export); empty without clinical access."""
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return QuestionnaireResponse.objects.none()
    return QuestionnaireResponse.objects.filter(clinic_id=user.clinic_id, patient_id__in=patient_ids).select_related(
        "entered_by", "supersedes", "superseded_by")


def response_get_for(*, user, response_id: int) -> QuestionnaireResponse:
    """Raises ResponseNotFound whether the response is absent or not visible to the user."""
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        raise ResponseNotFound()
    try:
        return QuestionnaireResponse.objects.select_related(
            "patient", "entered_by", "supersedes", "superseded_by").get(pk=response_id, clinic_id=user.clinic_id)
    except QuestionnaireResponse.DoesNotExist:
        raise ResponseNotFound() from None


def latest_responses(*, patient) -> dict[str, QuestionnaireResponse]:
    """{instrument key: newest current response} of a patient the caller already holds (no user check). One query."""
    latest: dict[str, QuestionnaireResponse] = {}
    for response in QuestionnaireResponse.objects.filter(patient=patient).current().order_by("-answered_at", "-id"):
        latest.setdefault(response.instrument_key, response)
    return latest



def current_responses_for_research(*, user) -> list[tuple[int, str, Any, dict, Any]]:
    """(patient id, instrument key, answered at, answers, total) of every current complete response in the user's
    clinic, for de-identified exports (the caller removes identifiers). Research roles only."""
    if not user.has_perm_to(Perm.RESEARCH_VIEW):
        raise PermissionDenied()
    return list(QuestionnaireResponse.objects.filter(clinic_id=user.clinic_id, status=ResponseStatus.COMPLETE)
                .current().order_by("patient_id", "answered_at", "id")
                .values_list("patient_id", "instrument_key", "answered_at", "answers", "total"))
