"""The intake wizard, the prescriber's decision, consent capture, consent documents and the chart card."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.errors import Conflict, NotFound
from ketacare.core.forms import attach_errors
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed
from ketacare.screening import forms as f
from ketacare.screening import progress, selectors, services
from ketacare.screening.domain.facts import InvalidFacts
from ketacare.screening.domain.rules import PARAM_SPECS, RULESET_VERSION, Route, evaluate
from ketacare.screening.domain.snapshot import facts_digest, result_to_dict
from ketacare.screening.domain.units import FactError, bmi
from ketacare.screening.models import Intake, Outcome


def _patient(request, patient_id: int):
    return patient_get_for(user=request.user, patient_id=patient_id)


def _wizard(request, patient, step: str, **extra):
    """Context shared by every step: the patient, the step list with states, previous/next."""
    intake = selectors.intake_of(patient)
    questionnaires = extra.pop("questionnaires", None) or selectors.baseline_questionnaires(patient)
    state = progress.intake_progress(patient, intake, questionnaires)
    index = progress.STEP_KEYS.index(step)
    if request.method == "GET":
        patient_viewed(actor=request.user, patient=patient, via=f"intake:{step}")
    steps = [{"step": s, "state": state.states[s.key], "label": progress.STATE_LABELS[state.states[s.key]],
              "url": reverse(s.url_name, args=[patient.pk]), "current": s.key == step} for s in progress.STEPS]
    return {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "intake": intake,
        "steps": steps,
        "step": progress.STEPS[index],
        "step_number": index + 1,
        "progress": state,
        "questionnaires": questionnaires,
        "previous_url": steps[index - 1]["url"] if index > 0 else None,
        "next_url": steps[index + 1]["url"] if index + 1 < len(steps) else None,
        "can_prescribe": request.user.has_perm_to(Perm.PRESCRIBE),
        "bmi": _bmi(intake),
        **extra,
    }


def _bmi(intake):
    if intake is None or intake.weight_kg is None or intake.height_cm is None:
        return None
    try:
        return bmi(intake.weight_kg, intake.height_cm)
    except FactError:
        return None


def _after_save(request, patient, step: str):
    if "stay" in request.POST:
        messages.success(request, "Saved.")
        return redirect(progress.STEPS[progress.STEP_KEYS.index(step)].url_name, patient.pk)
    index = progress.STEP_KEYS.index(step)
    return redirect(progress.STEPS[min(index + 1, len(progress.STEPS) - 1)].url_name, patient.pk)


@requires(Perm.CLINICAL_RECORD)
def wizard(request, patient_id: int):
    """Open the intake at the first step that is not done."""
    patient = _patient(request, patient_id)
    state = progress.intake_progress(patient, selectors.intake_of(patient), selectors.baseline_questionnaires(patient))
    key = state.first_open_step()
    return redirect(progress.STEPS[progress.STEP_KEYS.index(key)].url_name, patient.pk)


def _form_step(request, patient_id: int, step: str, form_class, template: str):
    patient = _patient(request, patient_id)
    instance = selectors.intake_of(patient) or Intake(patient=patient, clinic_id=patient.clinic_id)
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            services.intake_update(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _after_save(request, patient, step)
    return render(request, template, _wizard(request, patient, step, form=form), status=422 if form.errors else 200)


@requires(Perm.CLINICAL_RECORD)
def step_referral(request, patient_id: int):
    return _form_step(request, patient_id, "referral", f.ReferralForm, "screening/step_referral.html")


@requires(Perm.CLINICAL_RECORD)
def step_history(request, patient_id: int):
    return _form_step(request, patient_id, "history", f.HistoryForm, "screening/step_history.html")


@requires(Perm.CLINICAL_RECORD)
def step_measurements(request, patient_id: int):
    return _form_step(request, patient_id, "measurements", f.MeasurementsForm, "screening/step_measurements.html")


# --- list steps (diagnoses, medications, trials): rows are added one by one with htmx; "complete" moves on ------

LISTS: dict[str, dict[str, Any]] = {
    "diagnoses": {"form": f.DiagnosisForm, "add": services.diagnosis_add, "remove": services.diagnosis_remove,
                  "flag": "diagnoses_complete", "template": "screening/step_diagnoses.html",
                  "partial": "diagnoses-panel", "id_arg": "diagnosis_id"},
    "medications": {"form": f.MedicationForm, "add": services.medication_add, "remove": services.medication_remove,
                    "flag": "medications_complete", "template": "screening/step_medications.html",
                    "partial": "medications-panel", "id_arg": "medication_id"},
    "trials": {"form": f.TrialForm, "add": services.trial_add, "remove": services.trial_remove,
               "flag": "trials_complete", "template": "screening/step_trials.html",
               "partial": "trials-panel", "id_arg": "trial_id"},
}


def _list_context(request, patient, step: str, form=None):
    spec = LISTS[step]
    intake = selectors.intake_of(patient)
    context = {"form": form or spec["form"](), "diagnosis_table": f.DiagnosisForm.table() if step == "diagnoses"
               else None}
    if intake is not None:
        context["rows"] = list(getattr(intake, step).all())
        if step == "trials":
            context["resistance"] = selectors.resistance_summary(intake)
    else:
        context["rows"] = []
    if step == "diagnoses":
        context["rows"] = [{"row": d, "title": selectors.diagnosis_title(d.code)} for d in context["rows"]]
    return context


def _list_step(request, patient_id: int, step: str):
    spec = LISTS[step]
    patient = _patient(request, patient_id)
    if request.method == "POST":
        services.intake_update(actor=request.user, patient=patient, **{spec["flag"]: True})
        return _after_save(request, patient, step)
    return render(request, spec["template"], _wizard(request, patient, step, **_list_context(request, patient, step)))


def _list_add(request, patient_id: int, step: str):
    spec = LISTS[step]
    patient = _patient(request, patient_id)
    form = spec["form"](request.POST)
    if form.is_valid():
        try:
            spec["add"](actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            form = None
    return _list_response(request, patient, step, form)


def _list_remove(request, patient_id: int, step: str, row_id: int):
    spec = LISTS[step]
    patient = _patient(request, patient_id)
    try:
        spec["remove"](actor=request.user, patient=patient, **{spec["id_arg"]: row_id})
    except NotFound:
        raise Http404() from None
    return _list_response(request, patient, step, None)


def _list_response(request, patient, step: str, form):
    spec = LISTS[step]
    context = _list_context(request, patient, step, form)
    failed = form is not None and bool(form.errors)
    if request.htmx:
        # htmx swaps 200 responses only: a refused row comes back as 200 with its field errors shown.
        return render(request, f"{spec['template']}#{spec['partial']}", {"patient": patient, **context})
    if failed:
        return render(request, spec["template"], _wizard(request, patient, step, **context), status=422)
    return redirect(progress.STEPS[progress.STEP_KEYS.index(step)].url_name, patient.pk)


@requires(Perm.CLINICAL_RECORD)
def step_diagnoses(request, patient_id: int):
    return _list_step(request, patient_id, "diagnoses")


@requires(Perm.CLINICAL_RECORD)
@require_POST
def diagnosis_add(request, patient_id: int):
    return _list_add(request, patient_id, "diagnoses")


@requires(Perm.CLINICAL_RECORD)
@require_POST
def diagnosis_remove(request, patient_id: int, diagnosis_id: int):
    return _list_remove(request, patient_id, "diagnoses", diagnosis_id)


@requires(Perm.CLINICAL_RECORD)
def step_medications(request, patient_id: int):
    return _list_step(request, patient_id, "medications")


@requires(Perm.CLINICAL_RECORD)
@require_POST
def medication_add(request, patient_id: int):
    return _list_add(request, patient_id, "medications")


@requires(Perm.CLINICAL_RECORD)
@require_POST
def medication_remove(request, patient_id: int, medication_id: int):
    return _list_remove(request, patient_id, "medications", medication_id)


@requires(Perm.CLINICAL_RECORD)
def step_trials(request, patient_id: int):
    return _list_step(request, patient_id, "trials")


@requires(Perm.CLINICAL_RECORD)
@require_POST
def trial_add(request, patient_id: int):
    return _list_add(request, patient_id, "trials")


@requires(Perm.CLINICAL_RECORD)
@require_POST
def trial_remove(request, patient_id: int, trial_id: int):
    return _list_remove(request, patient_id, "trials", trial_id)


# --- baseline questionnaires (entered in the instruments app) -----------------------------------------------------

QUESTIONNAIRES = (
    (selectors.CSSRS_KEY, "C-SSRS screener", "Required: suicide-risk triage (instruments.md §6)."),
    (selectors.PHQ9_KEY, "PHQ-9", "Required: item 9 is screened for every route (instruments.md §1.3)."),
    (selectors.BPRS_KEY, "BPRS+ (positive symptoms)", "Optional at intake (instruments.md §9)."),
)


def _entry_url(patient, key: str) -> str | None:
    try:
        return reverse("instruments:response-create", args=[patient.pk]) + f"?instrument={key}"
    except NoReverseMatch:
        return None


@requires(Perm.CLINICAL_RECORD)
def step_questionnaires(request, patient_id: int):
    patient = _patient(request, patient_id)
    questionnaires = selectors.baseline_questionnaires(patient)
    rows = [{"key": key, "title": title, "why": why, "response": questionnaires.responses.get(key),
             "entry_url": _entry_url(patient, key)} for key, title, why in QUESTIONNAIRES]
    return render(request, "screening/step_questionnaires.html",
                  _wizard(request, patient, "questionnaires", questionnaires=questionnaires, rows=rows))


# --- review and evaluate ------------------------------------------------------------------------------------------


@requires(Perm.CLINICAL_RECORD)
def step_review(request, patient_id: int):
    """Shows what the rules say about the current facts (nothing stored); POST records the evaluation."""
    patient = _patient(request, patient_id)
    if request.method == "POST":
        try:
            services.eligibility_evaluate(actor=request.user, patient=patient)
        except ValidationError as exc:
            messages.error(request, "The facts could not be evaluated: " + " ".join(exc.messages))
            return redirect("screening:step-review", patient.pk)
        return redirect("screening:step-decision", patient.pk)
    facts, questionnaires = services.current_facts(patient)
    previews, errors = [], []
    params = selectors.eligibility_params(patient.clinic_id)
    for route in Route:
        try:
            result = result_to_dict(evaluate(facts, route, params, clock.today()))
        except InvalidFacts as exc:
            errors = [str(e) for e in exc.errors]
            break
        result["route_label"] = selectors.route_label(route)
        result["missing"] = progress.missing_with_steps(result["missing_facts"])
        previews.append(result)
    return render(request, "screening/step_review.html", _wizard(
        request, patient, "review", questionnaires=questionnaires, previews=previews, errors=errors,
        ruleset_version=RULESET_VERSION, step_urls={s.key: reverse(s.url_name, args=[patient.pk])
                                                    for s in progress.STEPS}))


# --- decision -----------------------------------------------------------------------------------------------------


def _decision_cards(request, patient, forms_by_id=None):
    forms_by_id = forms_by_id or {}
    facts, _ = services.current_facts(patient)
    digest = facts_digest(facts)
    params = selectors.eligibility_params(patient.clinic_id)
    cards = []
    latest = selectors.latest_decisions(patient)
    for route in Route:
        decision = latest.get(route.value)
        card = {"route": route.value, "label": selectors.route_label(route), "decision": decision}
        if decision is not None:
            card["stale"] = not decision.is_signed and not selectors.decision_is_current(
                decision, digest=digest, params=params)
            card["missing"] = progress.missing_with_steps(decision.missing_facts)
            card["can_sign"] = (not decision.is_signed and not card["stale"]
                                and request.user.has_perm_to(Perm.PRESCRIBE))
            card["can_cosign"] = (decision.awaiting_cosign and request.user.has_perm_to(Perm.PRESCRIBE)
                                  and decision.signed_by_id != request.user.pk)
            if card["can_sign"]:
                card["form"] = forms_by_id.get(decision.pk) or f.DecisionForm(decision=decision,
                                                                               prefix=f"d{decision.pk}")
        cards.append(card)
    return cards


@requires(Perm.CLINICAL_RECORD)
def step_decision(request, patient_id: int):
    patient = _patient(request, patient_id)
    return render(request, "screening/step_decision.html",
                  _wizard(request, patient, "decision", cards=_decision_cards(request, patient)))


@requires(Perm.PRESCRIBE)
@require_POST
def decision_sign(request, decision_id: int):
    decision = selectors.decision_get_for(user=request.user, decision_id=decision_id)
    patient = decision.patient
    form = f.DecisionForm(request.POST, decision=decision, prefix=f"d{decision.pk}")
    if form.is_valid():
        try:
            services.decision_sign(actor=request.user, decision=decision, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("screening:step-decision", patient.pk)
        else:
            outcome = form.cleaned_data["outcome"]
            messages.success(request, "Override signed: it takes effect when a second prescriber co-signs."
                             if outcome == Outcome.OVERRIDE else "Decision signed.")
            return redirect("screening:step-decision", patient.pk)
    return render(request, "screening/step_decision.html", _wizard(
        request, patient, "decision", cards=_decision_cards(request, patient, {decision.pk: form})), status=422)


@requires(Perm.PRESCRIBE)
@require_POST
def decision_cosign(request, decision_id: int):
    decision = selectors.decision_get_for(user=request.user, decision_id=decision_id)
    try:
        services.decision_cosign(actor=request.user, decision=decision)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Override co-signed: it is now in effect.")
    return redirect("screening:step-decision", decision.patient_id)


@requires(Perm.CLINICAL_VIEW)
def decision_detail(request, decision_id: int):
    decision = selectors.decision_get_for(user=request.user, decision_id=decision_id)
    patient_viewed(actor=request.user, patient=decision.patient, via="eligibility-decision")
    facts = [{"name": name, "label": progress.fact_label(name), "value": value}
             for name, value in decision.facts.items()]
    return render(request, "screening/decision_detail.html", {
        "decision": decision, "patient": decision.patient, "facts": facts,
        "label": selectors.route_label(decision.route),
        "missing": progress.missing_with_steps(decision.missing_facts),
        "can_record": request.user.has_perm_to(Perm.CLINICAL_RECORD),
    })


# --- consent ------------------------------------------------------------------------------------------------------


def _consent_cards(request, patient, bound=None):
    latest = selectors.latest_decisions(patient)
    cards = []
    for route in Route:
        document = selectors.current_consent_document(patient.clinic, route)
        current = selectors.current_consent(patient, route)
        card = {"route": route.value, "label": selectors.route_label(route), "document": document,
                "current": current, "decision": latest.get(route.value),
                "history": list(selectors.consents_for(patient, route=route))}
        if current is None and document is not None:
            card["form"] = bound if bound is not None and bound.prefix == route.value else f.ConsentForm(
                prefix=route.value, clinic_id=patient.clinic_id, witness=request.user)
        cards.append(card)
    return cards


@requires(Perm.CLINICAL_RECORD)
def step_consent(request, patient_id: int):
    patient = _patient(request, patient_id)
    bound = None
    if request.method == "POST":
        route = selectors.route_of(request.POST.get("route", ""))
        bound = f.ConsentForm(request.POST, prefix=route.value, clinic_id=patient.clinic_id, witness=request.user)
        if bound.is_valid():
            try:
                services.consent_record(actor=request.user, patient=patient, route=route,
                                        typed_name=bound.cleaned_data["typed_name"],
                                        witness=bound.cleaned_data["witness"])
            except ValidationError as exc:
                attach_errors(bound, exc)
            except Conflict as exc:
                messages.error(request, str(exc))
                return redirect("screening:step-consent", patient.pk)
            else:
                messages.success(request, f"Consent to {selectors.route_label(route)} recorded.")
                return redirect("screening:step-consent", patient.pk)
    return render(request, "screening/step_consent.html",
                  _wizard(request, patient, "consent", cards=_consent_cards(request, patient, bound)),
                  status=422 if bound is not None and bound.errors else 200)


@requires(Perm.CLINICAL_RECORD)
def consent_withdraw(request, consent_id: int):
    consent = selectors.consent_get_for(user=request.user, consent_id=consent_id)
    if request.method == "GET":
        patient_viewed(actor=request.user, patient=consent.patient, via="consent-withdraw-form")
    form = f.WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_withdraw(actor=request.user, consent=consent,
                                     reason=form.cleaned_data["withdrawal_reason"])
        except ValidationError as exc:
            attach_errors(form, exc)
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("screening:step-consent", consent.patient_id)
        else:
            messages.success(request, "Consent withdrawn: no new session of this route can start.")
            return redirect("screening:step-consent", consent.patient_id)
    return render(request, "screening/consent_withdraw.html",
                  {"consent": consent, "patient": consent.patient, "form": form,
                   "label": selectors.route_label(consent.route)},
                  status=422 if form.errors else 200)


# --- consent documents (clinic admin) -----------------------------------------------------------------------------


@requires(Perm.CLINIC_CONFIGURE)
def consent_documents(request):
    documents = list(selectors.consent_documents_for(user=request.user))
    current = {route: selectors.current_consent_document(request.user.clinic, route) for route in Route}
    groups = [{"route": route.value, "label": selectors.route_label(route), "current": current[route],
               "documents": [d for d in documents if d.route == route.value]} for route in Route]
    return render(request, "screening/consent_documents.html", {"groups": groups})


@requires(Perm.CLINIC_CONFIGURE)
def consent_document_create(request):
    initial = {"effective_on": clock.today()}
    source_id = request.GET.get("from", "")
    if source_id.isdigit():
        source = selectors.consent_document_get_for(user=request.user, document_id=int(source_id))
        initial.update(route=source.route, title=source.title, body=source.body)
    form = f.ConsentDocumentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.consent_document_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Draft saved. Publish it when it is final.")
            return redirect("screening:consent-document-detail", document.pk)
    return render(request, "screening/consent_document_form.html", {"form": form, "document": None},
                  status=422 if form.errors else 200)


@requires(Perm.CLINIC_CONFIGURE)
def consent_document_detail(request, document_id: int):
    document = selectors.consent_document_get_for(user=request.user, document_id=document_id)
    return render(request, "screening/consent_document_detail.html", {
        "document": document, "consents": document.consents.count(),
        "paragraphs": [p for p in document.body.split("\n\n") if p.strip()]})


@requires(Perm.CLINIC_CONFIGURE)
def consent_document_edit(request, document_id: int):
    document = selectors.consent_document_get_for(user=request.user, document_id=document_id)
    if document.is_published:
        messages.error(request, "A published version never changes: start a new version from it.")
        return redirect("screening:consent-document-detail", document.pk)
    form = f.ConsentDocumentForm(request.POST or None, instance=document)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_document_update(actor=request.user, document=document, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Draft saved.")
            return redirect("screening:consent-document-detail", document.pk)
    return render(request, "screening/consent_document_form.html", {"form": form, "document": document},
                  status=422 if form.errors else 200)


@requires(Perm.CLINIC_CONFIGURE)
@require_POST
def consent_document_publish(request, document_id: int):
    document = selectors.consent_document_get_for(user=request.user, document_id=document_id)
    try:
        services.consent_document_publish(actor=request.user, document=document)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Published. This version can no longer change.")
    return redirect("screening:consent-document-detail", document.pk)


# --- screening thresholds (clinic admin) ---------------------------------------------------------------------------


@requires(Perm.CLINIC_CONFIGURE)
def eligibility_settings(request):
    current = selectors.eligibility_setting_current(request.user.clinic_id)
    params = selectors.eligibility_params(request.user.clinic_id)
    form = f.EligibilityParamsForm(request.POST or None, current=params)
    if request.method == "POST" and form.is_valid():
        try:
            services.eligibility_params_configure(actor=request.user, reason=form.cleaned_data["reason"],
                                                  **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Screening thresholds saved as a new revision. Evaluations made before "
                                      "must be evaluated again before they are signed.")
            return redirect("screening:eligibility-settings")
    fixed = [{"label": spec.label, "value": getattr(params, name), "source": spec.source}
             for name, spec in PARAM_SPECS.items() if spec.fixed]
    return render(request, "screening/eligibility_settings.html",
                  {"form": form, "current": current, "fixed": fixed, "ruleset_version": RULESET_VERSION,
                   "history": selectors.eligibility_setting_history(request.user.clinic_id)},
                  status=422 if form.errors else 200)


# --- chart card ---------------------------------------------------------------------------------------------------


def eligibility_panel(request, patient) -> dict:
    """Context of the chart's Eligibility card: per route the evaluation status, open findings, the signed
    decision (who, when) and consent; plus how far the intake is."""
    intake = selectors.intake_of(patient)
    state = progress.intake_progress(patient, intake, selectors.baseline_questionnaires(patient))
    rows = []
    for route in Route:
        decision = state.latest.get(route.value)
        rows.append({
            "label": selectors.route_label(route),
            "decision": decision,
            "open": [x for x in (decision.findings if decision else []) if x["verdict"] in ("exclude", "caution")],
            "consent": state.current[route.value],
            "clearance": selectors.route_clearance(patient=patient, route=route, on=clock.today()),
            "stale": decision is not None and decision.facts_digest != state.facts_digest,
        })
    return {"rows": rows, "done": state.done_count, "total": len(progress.STEPS), "started": intake is not None,
            "can_record": request.user.has_perm_to(Perm.CLINICAL_RECORD)}
