import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.core.forms import attach_errors
from ketacare.instruments import selectors, services
from ketacare.instruments.domain.catalog import default_mode, short_name
from ketacare.instruments.domain.model import InvalidAnswer, ScoreStatus
from ketacare.instruments.forms import (
    AmendForm,
    LicensedTextForm,
    ResponseForm,
    SafetyThresholdsForm,
    default_answered_at,
)
from ketacare.instruments.panels import panel_context
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed
from ketacare.safety.selectors import alerts_for


@requires(Perm.CLINICAL_RECORD)
def response_create(request, patient_id: int):
    """Choose an instrument, then answer its items (a tablet-friendly form generated from the definition)."""
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    if request.method == "GET":
        patient_viewed(actor=request.user, patient=patient, via="response-form")
    key = request.POST.get("instrument") or request.GET.get("instrument")
    if not key:
        instruments = selectors.instruments_available(patient.clinic)
        return render(request, "instruments/response_choose.html", {
            "patient": patient,
            "choices": [(i.key, short_name(i.key, i.title), i.title, len(i.items)) for i in instruments]})
    instrument = selectors.instrument_get(key, patient.clinic)
    form = ResponseForm(request.POST or None, instrument=instrument,
                        initial={"answered_at": default_answered_at(), "mode": default_mode(instrument.key)})
    if request.method == "POST" and form.is_valid() and _complete_or_confirmed(form, instrument):
        try:
            response = services.response_record(
                patient=patient, actor=request.user, instrument_key=instrument.key, answers=form.answers(),
                answered_at=form.cleaned_data["answered_at"], mode=form.cleaned_data["mode"])
        except (ValidationError, InvalidAnswer) as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"{short_name(instrument.key, instrument.title)} saved.")
            return redirect("instruments:response-detail", response_id=response.pk)
    return render(request, "instruments/response_form.html", {
        "patient": patient, "instrument": instrument, "form": form, "short": short_name(instrument.key,
                                                                                        instrument.title)},
        status=422 if form.errors else 200)


@requires(Perm.CLINICAL_VIEW)
def response_detail(request, response_id: int):
    response = selectors.response_get_for(user=request.user, response_id=response_id)
    patient_viewed(actor=request.user, patient=response.patient, via="questionnaire_response")
    instrument = selectors.instrument_get(response.instrument_key, response.patient.clinic,
                                          version=response.instrument_version)
    rows = []
    for item in instrument.items:
        value = response.answers.get(item.link_id)
        option = next((o for o in item.options if value is not None and (o.code == value or o.weight == value)), None)
        rows.append({"item": item, "answer": option.display if option else value,
                     "score": response.item_scores.get(item.link_id),
                     "missing": item.link_id in response.missing,
                     "not_asked": value is None and item.enable_when is not None
                     and item.link_id not in response.missing})
    band_label, _, band_note = next(
        (b.label for b in instrument.bands if b.code == response.band), response.band).partition(": ")
    return render(request, "instruments/response_detail.html", {
        "response": response, "patient": response.patient, "instrument": instrument, "rows": rows,
        "short": short_name(instrument.key, instrument.title), "band_label": band_label, "band_note": band_note,
        "subscales": [(s.label, response.subscales.get(s.key)) for s in instrument.subscales],
        "alerts": alerts_for(user=request.user, patient=response.patient).filter(
            source_type=services.SOURCE_TYPE, source_id=response.pk),
        "superseded_by": _superseded_by(response),
        "can_amend": request.user.has_perm_to(Perm.CLINICAL_RECORD) and _superseded_by(response) is None,
    })


@requires(Perm.CLINICAL_RECORD)
def response_amend(request, response_id: int):
    """Correct a response: the amendment supersedes it, the original stays on record."""
    original = selectors.response_get_for(user=request.user, response_id=response_id)
    if request.method == "GET":
        patient_viewed(actor=request.user, patient=original.patient, via="response-amend-form")
    if _superseded_by(original) is not None:
        messages.error(request, "This response was already amended: amend the newest version.")
        return redirect("instruments:response-detail", response_id=_superseded_by(original).pk)
    instrument = selectors.instrument_get(original.instrument_key, original.patient.clinic,
                                          version=original.instrument_version)
    form = AmendForm(request.POST or None, instrument=instrument, initial_answers=original.answers,
                     initial={"answered_at": original.answered_at, "allow_incomplete": original.status != "complete"})
    if request.method == "POST" and form.is_valid() and _complete_or_confirmed(form, instrument):
        try:
            amendment = services.response_amend(original=original, actor=request.user, answers=form.answers(),
                                                answered_at=form.cleaned_data["answered_at"],
                                                reason=form.cleaned_data["reason"])
        except (ValidationError, InvalidAnswer) as exc:
            _attach(form, exc)
        else:
            messages.success(request, "Amendment saved; the original stays on record.")
            return redirect("instruments:response-detail", response_id=amendment.pk)
    return render(request, "instruments/response_form.html", {
        "patient": original.patient, "instrument": instrument, "form": form, "original": original,
        "short": short_name(instrument.key, instrument.title)}, status=422 if form.errors else 200)


@requires(Perm.CLINICAL_VIEW)
def questionnaire_history(request, patient_id: int):
    """The panel's history table alone, filtered by instrument (htmx)."""
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    patient_viewed(actor=request.user, patient=patient, via="questionnaire_history")
    context = {"ctx": panel_context(request, patient, instrument_key=request.GET.get("instrument") or None),
               "patient": patient}
    if request.htmx:
        return render(request, "instruments/panel.html#history", context)
    return render(request, "instruments/history.html", context)


@requires(Perm.CLINIC_CONFIGURE)
def licensed_text(request):
    """Load the clinic's licensed item wording for an instrument (JSON paste or upload); scoring is untouched."""
    licensed = [i for i in selectors.shipped_instruments().values() if i.licensed]
    form = LicensedTextForm(request.POST or None, request.FILES or None, instruments=licensed,
                            initial={"instrument": request.GET.get("instrument")})
    if request.method == "POST" and form.is_valid():
        try:
            services.licensed_text_load(actor=request.user, instrument_key=form.cleaned_data["instrument"],
                                        content=form.cleaned_data["parsed"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("content" if field == "content" else None, errors)
        else:
            messages.success(request, "Licensed text saved. It now shows when staff enter this questionnaire.")
            return redirect("instruments:licensed-text")
    loaded = selectors.licensed_texts_for(clinic=request.user.clinic)
    rows = [{"instrument": i, "short": short_name(i.key, i.title), "text": loaded.get(i.key)} for i in licensed]
    return render(request, "instruments/licensed_text.html", {"form": form, "rows": rows},
                  status=422 if form.errors else 200)


@requires(Perm.CLINIC_CONFIGURE)
def licensed_text_template(request):
    """A JSON skeleton ({linkId: {text, options}}) to fill in with the licensed wording."""
    licensed = {i.key: i for i in selectors.shipped_instruments().values() if i.licensed}
    key = request.GET.get("instrument")
    instrument = licensed.get(key) or next(iter(licensed.values()))
    skeleton = {
        item.link_id: {"text": f"<wording of: {item.label}>",
                       **({"options": {o.code: o.display for o in item.options}} if item.options else {})}
        for item in instrument.items
    }
    response = HttpResponse(json.dumps(skeleton, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{instrument.key}-text-template.json"'
    return response


@requires(Perm.CLINIC_CONFIGURE)
def safety_thresholds(request):
    """The clinic's safety-rule thresholds (instruments.md §13.5): a new revision applies to responses recorded
    after it."""
    current = selectors.safety_setting_current(request.user.clinic_id)
    form = SafetyThresholdsForm(request.POST or None, rules=selectors.configurable_rules(),
                                current=current.overrides if current else {})
    if request.method == "POST" and form.is_valid():
        try:
            services.safety_thresholds_configure(actor=request.user, reason=form.cleaned_data["reason"],
                                                 thresholds=form.thresholds())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, "Alert thresholds saved as a new revision. They apply to questionnaires "
                                      "recorded from now on.")
            return redirect("instruments:safety-thresholds")
    return render(request, "instruments/safety_thresholds.html", {"form": form, "current": current,
                  "history": selectors.safety_setting_history(request.user.clinic_id)},
                  status=422 if form.errors else 200)


def _superseded_by(response):
    try:
        return response.superseded_by
    except type(response).DoesNotExist:
        return None


def _complete_or_confirmed(form: ResponseForm, instrument) -> bool:
    """Refuse an incomplete questionnaire unless the user ticked "save with unanswered items"."""
    try:
        result = services.score_answers(instrument=instrument, answers=form.answers())
    except InvalidAnswer as exc:
        _attach(form, exc)
        return False
    if result.status is ScoreStatus.COMPLETE or form.cleaned_data.get("allow_incomplete"):
        return True
    for link_id in result.missing:
        form.add_error(form.field_for(link_id), "Not answered.")
    form.add_error("allow_incomplete", f"{len(result.missing)} item{'s' if len(result.missing) != 1 else ''} "
                                       "unanswered: answer them, or tick this box to save an incomplete score.")
    return False


def _attach(form, exc) -> None:
    if isinstance(exc, InvalidAnswer):
        form.add_error(form.field_for(exc.link_id), exc.reason)
        return
    attach_errors(form, exc)
