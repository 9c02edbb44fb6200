"""Instruments API (issue 3 contract): list instruments, score answers statelessly, record and list responses."""

from django.utils import timezone
from ninja import Router, Status

from ketacare.accounts.api_auth import api_perm
from ketacare.accounts.roles import Perm
from ketacare.instruments import selectors, services
from ketacare.instruments.domain.model import Instrument, InvalidAnswer
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.instruments.schemas import InstrumentOut, ResponseIn, ResponseOut, ScoreIn, ScoreOut
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed
from ketacare.safety.selectors import alerts_for

router = Router(tags=["instruments"])


@router.get("/instruments", response=list[InstrumentOut], auth=api_perm(Perm.CLINICAL_VIEW))
def instruments_list(request):
    return [_instrument_out(i) for i in selectors.instruments_available(request.auth.clinic)]


@router.post("/instruments/{key}/score", response={200: ScoreOut, 422: dict},
             auth=api_perm(Perm.CLINICAL_VIEW, reads=True))
def instrument_score(request, key: str, payload: ScoreIn):
    """Score answers without storing anything. Answers: values in item order, or {linkId: value}."""
    instrument = selectors.instrument_get(key, request.auth.clinic)
    if payload.answers is None:
        return _unprocessable(["body", "answers"], "Field required")
    try:
        result = services.score_answers(
            instrument=instrument, answers=payload.answers,
            thresholds=selectors.safety_thresholds(request.auth.clinic_id, instrument))
    except InvalidAnswer as exc:
        return _invalid_answer(exc)
    return {
        "instrument": result.instrument_key, "version": result.instrument_version, "status": result.status.value,
        "total": _number(result.total), "subscales": {k: _number(v) for k, v in result.subscales.items()},
        "band": result.band, "missing": list(result.missing),
        "alerts": [{"code": a.code, "severity": a.severity.value} for a in result.alerts],
    }


@router.post("/patients/{patient_id}/responses", response={201: ResponseOut, 422: dict},
             auth=api_perm(Perm.CLINICAL_RECORD))
def responses_create(request, patient_id: int, payload: ResponseIn):
    """Record a response; the stored scores and the alerts it raised come back in the same request."""
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    for field in ("instrument", "answers", "answered_at"):
        if getattr(payload, field) is None:
            return _unprocessable(["body", field], "Field required")
    answered_at, instrument_key = payload.answered_at, payload.instrument
    assert answered_at is not None and instrument_key is not None  # checked just above
    if timezone.is_naive(answered_at):
        answered_at = timezone.make_aware(answered_at)
    try:
        response = services.response_record(
            patient=patient, actor=request.auth, instrument_key=instrument_key, answers=payload.answers,
            answered_at=answered_at, mode=payload.mode, context=payload.context)
    except InvalidAnswer as exc:
        return _invalid_answer(exc)
    return Status(201, _responses_out(request.auth, patient, [response])[0])


@router.get("/patients/{patient_id}/responses", response=list[ResponseOut], auth=api_perm(Perm.CLINICAL_VIEW))
def responses_list(request, patient_id: int, instrument: str | None = None, limit: int = 100, offset: int = 0):
    """Every response of the patient (amended originals included, see superseded_by), newest first."""
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    patient_viewed(actor=request.auth, patient=patient, via="api:responses")
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    page = list(selectors.responses_for(user=request.auth, patient=patient, instrument_key=instrument)
                [offset:offset + limit])
    return _responses_out(request.auth, patient, page)


def _responses_out(user, patient, responses: list[QuestionnaireResponse]) -> list[dict]:
    alerts: dict[int, list] = {}
    for alert in alerts_for(user=user, patient=patient).filter(
            source_type=services.SOURCE_TYPE, source_id__in=[r.pk for r in responses]):
        alerts.setdefault(alert.source_id, []).append(
            {"id": alert.pk, "code": alert.code, "severity": alert.severity, "status": alert.status,
             "message": alert.message})
    out = []
    for r in responses:
        try:
            superseded_by = r.superseded_by.pk
        except QuestionnaireResponse.DoesNotExist:
            superseded_by = None
        out.append({
            "id": r.pk, "patient_id": r.patient_id, "instrument": r.instrument_key, "version": r.instrument_version,
            "status": r.status, "total": _number(r.total), "subscales": r.subscales, "band": r.band or None,
            "missing": r.missing, "item_scores": r.item_scores, "answers": r.answers, "answered_at": r.answered_at,
            "mode": r.mode, "context": r.context, "entered_by": r.entered_by.username if r.entered_by else None,
            "entered_at": r.entered_at, "supersedes": r.supersedes_id, "superseded_by": superseded_by,
            "amendment_reason": r.amendment_reason, "alerts": alerts.get(r.pk, []),
        })
    return out


def _instrument_out(instrument: Instrument) -> dict:
    items = []
    for item in instrument.items:
        kind = "choice" if item.options else "integer" if item.range is not None else "string"
        items.append({
            "linkId": item.link_id, "label": item.label, "text": item.text, "type": kind, "scored": item.scored,
            "options": [{"code": o.code, "display": o.display, "value": _number(o.weight)} for o in item.options],
            "min": item.range.low if item.range else None, "max": item.range.high if item.range else None,
        })
    return {"key": instrument.key, "version": instrument.version, "title": instrument.title, "items": items}


def _invalid_answer(exc: InvalidAnswer):
    return _unprocessable(["body", "answers", exc.link_id], f"item {exc.link_id}: {exc.reason}", "invalid_answer")


def _unprocessable(loc: list[str], msg: str, kind: str = "missing"):
    return Status(422, {"detail": [{"loc": loc, "msg": msg, "type": kind}]})


def _number(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
