import csv
import datetime as dt
import hashlib
from collections.abc import Iterator

from django.contrib import messages
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.db import reporting_reads
from ketacare.core.forms import attach_errors
from ketacare.outcomes import figures, letters, patient_rows, selectors, services
from ketacare.outcomes.domain.definitions import DEFAULT_DEFINITIONS
from ketacare.outcomes.domain.deid import cohort_by_age_and_sex
from ketacare.outcomes.domain.report import CohortReport, build_report
from ketacare.outcomes.domain.stats import relapse_median_days
from ketacare.outcomes.forms import CohortForm, LetterForm, LetterSendForm, OutcomeSettingForm, ResearchCohortForm
from ketacare.outcomes.pdf import pdf_response, render_pdf
from ketacare.patients.selectors import ages_and_sexes_for, patient_get_for, sexes
from ketacare.patients.services import patient_viewed

# --- one patient -------------------------------------------------------------------------------------------------


def _local_day(at) -> str:
    return clock.local(at).strftime("%Y-%m-%d")


def _card(t, doses) -> dict:
    """One instrument's block of the outcomes page, formatted here (a page with long histories stays fast)."""
    d = t.definition
    last = t.points[-1]
    latest, ttr = t.latest, t.time_to_response
    status, good = "", False
    if latest is not None:
        status, good = (("Remission", True) if latest.is_remission else ("Response", True) if latest.is_response
                        else ("No response", False))
    if ttr is None:
        first = "—"
    else:
        first = f"after {ttr.days:.0f} d" if ttr.event else f"not yet ({ttr.days:.0f} d followed)"
    rule = f"Response: {'more than' if d.response_strict else 'at least'} {fmt_num(d.response_pct_reduction)} % " \
           "reduction" + (f"; remission: total ≤ {fmt_num(d.remission_max_total)}" if d.remission_max_total is not None
                          else "")
    return {
        "key": t.key, "id": f"chart-{t.key}", "title": t.title, "json": figures.trajectory_json(t, doses),
        "baseline": fmt_num(t.baseline.total) if t.baseline else "",
        "baseline_on": _local_day(t.baseline.at) if t.baseline else "",
        "latest": fmt_num(last.total), "latest_on": _local_day(last.at),
        "change": (f"{'+' if latest.change > 0 else ''}{fmt_num(latest.change)}" if latest else "—"),
        "pct": (f"{'+' if latest.pct_change > 0 else ''}{fmt_num(latest.pct_change)}"
                if latest and latest.pct_change is not None else ""),
        "status": status, "good": good, "first_response": first,
        "caption": f"Shaded: severity bands. ▲ dosing sessions. Dashed line: baseline. {rule}. "
                   f"{len(t.points)} value{'s' if len(t.points) != 1 else ''}.",
        "relief_hours": (f"{d.rapid_relief.hours_after.total_seconds() / 3600:g} h"
                         if d.rapid_relief is not None and doses else ""),
        "durability": bool(t.baseline and doses),
    }


def _body_context(patient, data) -> dict:
    recent = data.suicide_items[-10:]
    positives = [s for s in data.suicide_items[:-10] if s.level > 0][-10:]
    shown = positives + recent
    suicide_rows = [{"on": _local_day(s.at), "source": s.source,
                     "value": s.value.replace("_", " ").capitalize(), "level": s.level} for s in reversed(shown)]
    return {
        "patient": patient,
        "data": data,
        "charts": [_card(t, data.doses) for t in data.trajectories],
        "urls": _urls(patient),
        "suicide_rows": suicide_rows,
        "suicide_recent": recent,
        "dissociation_json": figures.dissociation_json(data.dissociation, data.doses) if data.dissociation else None,
        "suicide_json": figures.suicide_json(data.suicide_items, data.doses) if data.suicide_items else None,
    }


def _pdf_context(patient) -> dict:
    """Everything the PDF prints: the page's figures with the detail tables (not cached, made on request)."""
    data = selectors.patient_outcomes(patient=patient, definitions=selectors.definitions_for_clinic(
        patient.clinic_id), detail=True)
    return {**_body_context(patient, data), "today": clock.today()}


BODY_FORMAT = 1  # bump when the body's template or figures change shape (a deploy restarts the cache anyway)
_PAGES = "patient_pages"  # a per-process memory cache (settings.CACHES): patient data never leaves the process


def _patient_body(patient) -> tuple[str, list[dt.datetime]]:
    """The outcomes page below its header, as HTML, and the dose times.

    The body depends only on the patient's dosed sessions (read every time: they change during a session), the
    patient's questionnaire responses and the clinic's outcome settings (both append-only, stamped by one query),
    and the time zone dates are shown in. It is cached under exactly those, so a new or amended response, a new
    dose, a vitals reading or a changed definition shows at once, and an unchanged history is not recomputed:
    3 years of weekly scores cost 1.7 ms to read and 2 ms to chart and render (benchmarks/README.md)."""
    sessions = patient_rows.dosed_sessions(patient.pk)
    doses = [row[3] for row in sessions]
    stamp = patient_rows.outcome_inputs_stamp(patient.pk, patient.clinic_id)
    key = hashlib.sha256(repr((BODY_FORMAT, patient.pk, timezone.get_current_timezone_name(), stamp,
                               sessions)).encode()).hexdigest()
    cache = caches[_PAGES]
    body = cache.get(key)
    if body is None:
        data = selectors.patient_outcomes(patient=patient, definitions=selectors.definitions_for_clinic(
            patient.clinic_id), detail=False, sessions=sessions)
        body = render_to_string("outcomes/_patient_body.html", _body_context(patient, data))
        cache.set(key, body)
    return mark_safe(body), doses  # noqa: S308 - rendered by our own template above, autoescaped


def _urls(patient) -> dict[str, str]:
    # Reversed once here, not once per link in the template.
    return {"svg": reverse("outcomes:patient-svg", args=[patient.pk]),
            "section": reverse("outcomes:patient-section", args=[patient.pk]),
            "pdf": reverse("outcomes:patient-pdf", args=[patient.pk]),
            "letter": reverse("outcomes:letter-create", args=[patient.pk]),
            "chart": reverse("patients:detail", args=[patient.pk])}


@requires(Perm.CLINICAL_VIEW)
def patient_outcomes(request, patient_id: int):
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    patient_viewed(actor=request.user, patient=patient, via="outcomes")
    body, doses = _patient_body(patient)
    return render(request, "outcomes/patient.html", {
        "patient": patient, "body": body, "doses": doses, "urls": _urls(patient),
        "can_draft_letter": request.user.has_perm_to(Perm.PRESCRIBE)})


def fmt_num(value) -> str:
    text = f"{float(value):.1f}"
    return text[:-2] if text.endswith(".0") else text


def _pdf_row(t) -> dict:
    """One instrument's line of the PDF summary, formatted here (fewer template filters, faster PDF)."""
    last = t.points[-1] if t.points else None
    latest = t.latest
    status = ("Remission" if latest.is_remission else "Response" if latest.is_response else "No response") \
        if latest else "—"
    ttr = t.time_to_response
    relapsed = [s for s in t.durability if s.outcome.status == "relapsed"]
    durability = "—"
    if t.durability:
        durability = f"{len(relapsed)} relapse{'s' if len(relapsed) != 1 else ''} after {len(t.durability)} series"
        median = relapse_median_days([s.outcome for s in t.durability])
        if median.at_risk:
            durability += (f"; Kaplan-Meier median {median.days:.0f} days" if median.days is not None
                           else "; Kaplan-Meier median not reached")
    return {"title": t.title, "baseline": fmt_num(t.baseline.total) if t.baseline else "—",
            "latest": fmt_num(last.total) if last else "—",
            "latest_on": timezone.localtime(last.at).strftime("%Y-%m-%d") if last else "",
            "change": (f"{'+' if latest.change > 0 else ''}{fmt_num(latest.change)}" if latest else "—"),
            "status": status, "first_response": f"after {ttr.days:.0f} d" if ttr and ttr.event else "—",
            "durability": durability}


SECTIONS = {"sessions": "Sessions", "durability": "Durability after each series", "relief": "Rapid relief",
            "letters": "Progress letters"}


@requires(Perm.CLINICAL_VIEW)
def patient_section(request, patient_id: int):
    """One detail table of the outcomes page, loaded when its <details> is opened (a full page without htmx)."""
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    section = request.GET.get("section", "sessions")
    if section not in SECTIONS:
        raise Http404("Unknown section")
    patient_viewed(actor=request.user, patient=patient, via=f"outcomes-{section}")
    if section == "letters":
        context = {"patient": patient, "section": section, "heading": SECTIONS[section],
                   "letters": selectors.letters_for(user=request.user, patient=patient)}
        template = "outcomes/patient_section.html#letters" if request.htmx else "outcomes/patient_section.html"
        return render(request, template, context)
    data = selectors.patient_outcomes(patient=patient, definitions=selectors.definitions_for_clinic(
        patient.clinic_id), detail=True)
    trajectory = None
    if section != "sessions":
        trajectory = next((t for t in data.trajectories if t.key == request.GET.get("instrument")), None)
        if trajectory is None:
            raise Http404("Unknown instrument")
    context = {"patient": patient, "data": data, "trajectory": trajectory, "section": section,
               "heading": f"{SECTIONS[section]}{f' · {trajectory.title}' if trajectory else ''}"}
    if request.htmx:
        return render(request, f"outcomes/patient_section.html#{section}", context)
    return render(request, "outcomes/patient_section.html", context)


@requires(Perm.CLINICAL_VIEW)
def patient_svg(request, patient_id: int):
    """A static SVG chart of one instrument (the no-JavaScript fallback, loaded only inside <noscript>)."""
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    patient_viewed(actor=request.user, patient=patient, via="outcomes-chart-svg")
    definitions = selectors.definitions_for_clinic(patient.clinic_id)
    data = selectors.patient_outcomes(patient=patient, definitions=definitions, detail=False)
    which = request.GET.get("chart", "")
    if which == "dissociation":
        svg = figures.dissociation_svg(data.dissociation, data.doses)
    elif which == "suicide":
        svg = figures.suicide_svg(data.suicide_items, data.doses)
    else:
        trajectory = next((t for t in data.trajectories if t.key == which), None)
        if trajectory is None and data.trajectories:
            trajectory = data.trajectories[0]
        svg = figures.trajectory_svg(trajectory, data.doses) if trajectory else figures.charts.line_chart(
            title="No scores yet", series=[], y_range=(0, 1))
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@requires(Perm.CLINICAL_VIEW)
def patient_pdf(request, patient_id: int):
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    context = _pdf_context(patient)
    data = context["data"]
    context["pdf_rows"] = [_pdf_row(t) for t in data.trajectories]
    charts = []
    for t in data.trajectories:
        bands = ", ".join(f"{b.label.lower()} {b.low:g}–{b.high:g}" for b in (t.instrument.bands if t.instrument
                                                                                 else ()) if b.low is not None)
        charts.append({"title": f"{t.title}: total over time", "svg": figures.trajectory_svg(
            t, data.doses, width=720, height=190, compact=True),
            "caption": "Triangles: dosing sessions. Dashed line: baseline"
                       + (f" {fmt_num(t.baseline.total)}." if t.baseline else ".")
                       + (f" Bands: {bands}." if bands else "")})
    if data.dissociation:
        charts.append({"title": "Peak dissociation (CADSS) per session", "caption": "Triangles: dosing sessions.",
                       "svg": figures.dissociation_svg(data.dissociation, data.doses, compact=True)})
    if data.suicide_items:
        charts.append({"title": "Suicide items over time", "caption": "PHQ-9 item 9 (0–3) and C-SSRS risk (dashed).",
                       "svg": figures.suicide_svg(data.suicide_items, data.doses, compact=True)})
    context["pdf_charts"] = charts
    content = render_pdf("outcomes/pdf/patient.html", context)
    services.outcomes_exported(actor=request.user, what="patient_outcomes", fmt="pdf", patient=patient)
    return pdf_response(content, f"outcomes-patient-{patient.pk}.pdf")


# --- clinic report -----------------------------------------------------------------------------------------------

INSTRUMENT_ORDER = ("phq-9", "gad-7", "lsas-sr", "lsas-cr", "spin", "mini-spin", "vas-anxiety")


def _report(request, *, deidentified: bool) -> tuple[CohortForm, CohortReport, selectors.CohortFilter]:
    clinic_id = request.user.clinic_id
    options = selectors.cohort_options(clinic_id)
    form_class = ResearchCohortForm if deidentified else CohortForm
    form = form_class(request.GET or None, options=options)
    cohort = form.cohort()
    services.summaries_refresh(clinic_id=clinic_id)
    with reporting_reads():  # an aggregate report may read from a replica (docs/scaling.md)
        aggregate = selectors.cohort_aggregate(clinic_id=clinic_id, cohort=cohort)
    instruments = selectors.instruments()
    report = build_report(
        aggregate, deidentified=deidentified,
        band_order={k: [b.code for b in i.bands] for k, i in instruments.items()},
        labels={k.value: k.label for k in _side_effect_labels()})
    order = {k: n for n, k in enumerate(INSTRUMENT_ORDER)}
    report = _ordered(report, order)
    return form, report, cohort


def _side_effect_labels():
    from ketacare.treatment.choices import SideEffect

    return list(SideEffect)


def _ordered(report: CohortReport, order: dict[str, int]) -> CohortReport:
    import dataclasses

    instruments = tuple(sorted(report.instruments, key=lambda i: (order.get(i.key, 99), i.key)))
    return dataclasses.replace(report, instruments=instruments)


def _report_context(request, form, report: CohortReport, *, deidentified: bool) -> dict:
    instruments = selectors.instruments()
    definitions = selectors.definitions_for_clinic(request.user.clinic_id)
    rows = []
    for i in report.instruments:
        instrument = instruments.get(i.key)
        bands = {b.code: b.label for b in instrument.bands} if instrument else {}
        rows.append({"report": i, "title": instrument.title if instrument else i.key,
                     "definition": definitions.get(i.key),
                     "bands": [(bands.get(code, code), count) for code, count in i.bands],
                     "km_id": f"km-{i.key}", "km_json": figures.km_json(i.relapse, f"{i.key.upper()}: still well"),
                     "km_svg": figures.km_svg(i.relapse, f"{instrument.title if instrument else i.key}: still well "
                                              "after induction", f"svg-km-{i.key}")})
    return {"form": form, "report": report, "rows": rows, "deidentified": deidentified,
            "rates_json": figures.rates_json(report), "rates_svg": figures.rates_svg(report),
            "rates_shown": any(b["value"] is not None for b in figures.rates_json(report)["bars"]),
            "query": request.GET.urlencode(),
            "generated_year": clock.today().year}


@requires(Perm.CLINICAL_VIEW)
def report(request):
    form, rep, cohort = _report(request, deidentified=False)
    services.report_viewed(actor=request.user, cohort=cohort, deidentified=False)
    return render(request, "outcomes/report.html", _report_context(request, form, rep, deidentified=False))


@requires(Perm.RESEARCH_VIEW)
def research(request):
    form, rep, cohort = _report(request, deidentified=True)
    services.report_viewed(actor=request.user, cohort=cohort, deidentified=True)
    context = _report_context(request, form, rep, deidentified=True)
    people = ages_and_sexes_for(user=request.user, on=clock.today())
    context["age_sex_rows"], context["age_sex_total"] = cohort_by_age_and_sex(
        people, [value for value, _label in sexes()], min_cell=rep.min_cell)
    context["sexes"] = [label for _value, label in sexes()]
    return render(request, "outcomes/report.html", context)


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def report_csv_rows(report: CohortReport) -> Iterator[list[str]]:
    """The report figures in long format: one row per figure."""
    yield ["section", "item", "measure", "value", "ci_low", "ci_high", "numerator", "denominator"]
    yield ["cohort", "", "patients", _fmt(report.patients), "", "", "", ""]
    yield ["cohort", "", "treated", _fmt(report.treated), "", "", "", ""]
    yield ["cohort", "", "doses", _fmt(report.doses), "", "", "", ""]
    d = report.dropout
    yield ["cohort", "", "dropout rate", _fmt(d.rate, 4), _fmt(d.low, 4), _fmt(d.high, 4), _fmt(d.numerator),
           _fmt(d.denominator)]
    for i in report.instruments:
        yield ["instrument", i.key, "baseline mean", _fmt(i.baseline.mean, 2), _fmt(i.baseline.low, 2),
               _fmt(i.baseline.high, 2), "", _fmt(i.baseline.n)]
        for band, count in i.bands:
            yield ["instrument", i.key, f"baseline band {band}", _fmt(count), "", "", "", ""]
        for name, rate in (("response rate", i.response), ("remission rate", i.remission)):
            yield ["instrument", i.key, name, _fmt(rate.rate, 4), _fmt(rate.low, 4), _fmt(rate.high, 4),
                   _fmt(rate.numerator), _fmt(rate.denominator)]
        yield ["instrument", i.key, "mean change", _fmt(i.change.mean, 2), _fmt(i.change.low, 2),
               _fmt(i.change.high, 2), "", _fmt(i.change.n)]
        q = i.time_to_response.quartiles
        yield ["instrument", i.key, "median days to first response", _fmt(q.median if q else None),
               _fmt(q.q1 if q else None), _fmt(q.q3 if q else None), "", _fmt(i.time_to_response.n)]
        yield ["instrument", i.key, "median days to relapse (KM)", _fmt(i.relapse.median_days), "", "",
               _fmt(i.relapse.events), _fmt(i.relapse.n)]
        for step in i.relapse.steps:
            yield ["kaplan-meier", i.key, f"still well at day {_fmt(step.time, 0)}", _fmt(step.survival, 4),
                   _fmt(step.ci_low, 4), _fmt(step.ci_high, 4), "", _fmt(step.at_risk)]
    for kind in (*report.side_effects, report.adverse_events, report.serious_adverse_events):
        section = "side effect" if kind in report.side_effects else "adverse events"
        yield [section, kind.label, "patients with it", _fmt(kind.patients.rate, 4), _fmt(kind.patients.low, 4),
               _fmt(kind.patients.high, 4), _fmt(kind.patients.numerator), _fmt(kind.patients.denominator)]
        yield [section, kind.label, "mean minutes", _fmt(kind.minutes.mean), _fmt(kind.minutes.low),
               _fmt(kind.minutes.high), "", _fmt(kind.minutes.n)]
    for a in report.alerts:
        q = a.ack_minutes.quartiles
        yield ["alerts", a.severity, "patients with alerts", _fmt(a.patients.rate, 4), _fmt(a.patients.low, 4),
               _fmt(a.patients.high, 4), _fmt(a.patients.numerator), _fmt(a.patients.denominator)]
        yield ["alerts", a.severity, "median minutes to acknowledge", _fmt(q.median if q else None),
               _fmt(q.q1 if q else None), _fmt(q.q3 if q else None), _fmt(a.acknowledged), _fmt(a.alerts)]


def _csv_response(rows, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    for row in rows:
        writer.writerow(row)
    return response


@requires(Perm.CLINICAL_VIEW)
def report_csv(request):
    _, rep, cohort = _report(request, deidentified=False)
    services.outcomes_exported(actor=request.user, what="clinic_report", fmt="csv", cohort=cohort)
    return _csv_response(report_csv_rows(rep), "outcomes-report.csv")


@requires(Perm.RESEARCH_VIEW)
def research_csv(request):
    _, rep, cohort = _report(request, deidentified=True)
    services.outcomes_exported(actor=request.user, what="clinic_report", fmt="csv", cohort=cohort,
                               deidentified=True)
    return _csv_response(report_csv_rows(rep), "outcomes-report-deidentified.csv")


class _Echo:
    def write(self, value):
        return value


@requires(Perm.CLINICAL_VIEW)
def report_patients_csv(request):
    """Identified per-patient rows of the cohort (clinicians only), streamed."""
    clinic_id = request.user.clinic_id
    form = CohortForm(request.GET or None, options=selectors.cohort_options(clinic_id))
    cohort = form.cohort()
    services.summaries_refresh(clinic_id=clinic_id)
    rows = selectors.cohort_patients(clinic_id=clinic_id, cohort=cohort)
    services.outcomes_exported(actor=request.user, what="cohort_patients", fmt="csv", cohort=cohort,
                               rows=rows.count())
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(["mrn", "family_name", "given_name", "route", "protocol", "first_dose_on",
                               "instrument", "baseline", "baseline_band", "endpoint", "change", "response",
                               "remission", "days_to_first_response", "relapse_status", "relapse_days"])
        for r in rows.iterator(chunk_size=2000):
            p, o = r.outcome.patient, r.outcome
            yield writer.writerow([p.mrn, p.family_name, p.given_name, o.route, o.protocol_ref, r.first_dose_on,
                                   r.instrument_key, r.baseline, r.baseline_band, r.endpoint, r.change,
                                   _flag(r.response), _flag(r.remission), r.ttr_days if r.ttr_event else "",
                                   r.relapse_status, r.relapse_days if r.relapse_days is not None else ""])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="outcomes-cohort-patients.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _flag(value) -> str:
    return "" if value is None else ("yes" if value else "no")


def _report_pdf(request, *, deidentified: bool):
    form, rep, cohort = _report(request, deidentified=deidentified)
    context = _report_context(request, form, rep, deidentified=deidentified)
    context["clinic"] = request.user.clinic
    content = render_pdf("outcomes/pdf/report.html", context)
    services.outcomes_exported(actor=request.user, what="clinic_report", fmt="pdf", cohort=cohort,
                               deidentified=deidentified)
    return pdf_response(content, "outcomes-report-deidentified.pdf" if deidentified else "outcomes-report.pdf")


@requires(Perm.CLINICAL_VIEW)
def report_pdf(request):
    return _report_pdf(request, deidentified=False)


@requires(Perm.RESEARCH_VIEW)
def research_pdf(request):
    return _report_pdf(request, deidentified=True)


# --- clinic settings ---------------------------------------------------------------------------------------------


@requires(Perm.CLINIC_CONFIGURE)
def outcome_settings(request):
    clinic_id = request.user.clinic_id
    initial = {"instrument_key": request.GET.get("instrument", "phq-9")}
    form = OutcomeSettingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k not in ("instrument_key", "reason")}
        try:
            services.outcome_setting_save(actor=request.user, instrument_key=form.cleaned_data["instrument_key"],
                                          reason=form.cleaned_data["reason"], **values)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Saved. The clinic report is recomputed with the new definition.")
            return redirect("outcomes:settings")
    definitions = selectors.definitions_for_clinic(clinic_id)
    current = selectors.outcome_settings_current(clinic_id)
    rows = [{"key": k, "definition": definitions[k], "default": DEFAULT_DEFINITIONS[k], "setting": current.get(k)}
            for k in sorted(definitions)]
    return render(request, "outcomes/settings.html", {"form": form, "rows": rows},
                  status=422 if form.errors else 200)


# --- progress letters --------------------------------------------------------------------------------------------


@require_POST
@requires(Perm.PRESCRIBE)
def letter_create(request, patient_id: int):
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    data = selectors.patient_outcomes(patient=patient, definitions=selectors.definitions_for_clinic(patient.clinic_id))
    snap = letters.snapshot(patient, data, today=clock.today())
    letter = services.letter_draft(actor=request.user, patient=patient, snapshot=snap,
                                   recipient=letters.recipient_of(patient), summary=letters.draft_summary(snap))
    return redirect("outcomes:letter", letter_id=letter.pk)


def _letter_context(request, letter, form=None, send_form=None) -> dict:
    can_edit = request.user.has_perm_to(Perm.PRESCRIBE) and not letter.is_sent
    return {"letter": letter, "snap": letter.snapshot, "can_edit": can_edit,
            "form": form or (LetterForm(instance=letter) if can_edit else None),
            "send_form": send_form or (LetterSendForm() if can_edit else None)}


@requires(Perm.CLINICAL_VIEW)
def letter_detail(request, letter_id: int):
    letter = selectors.letter_get_for(user=request.user, letter_id=letter_id)
    patient_viewed(actor=request.user, patient=letter.patient, via="letter")
    return render(request, "outcomes/letter.html", _letter_context(request, letter))


@require_POST
@requires(Perm.PRESCRIBE)
def letter_edit(request, letter_id: int):
    letter = selectors.letter_get_for(user=request.user, letter_id=letter_id)
    form = LetterForm(request.POST, instance=letter)
    if form.is_valid():
        try:
            letter = services.letter_update(actor=request.user, letter=letter,
                                            **{k: form.cleaned_data[k] for k in services.LETTER_FIELDS})
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if request.htmx:
                return render(request, "outcomes/letter.html#letter-body",
                              {**_letter_context(request, letter), "saved": True})
            messages.success(request, "Letter saved.")
            return redirect("outcomes:letter", letter_id=letter.pk)
    letter.refresh_from_db()
    template = "outcomes/letter.html#letter-body" if request.htmx else "outcomes/letter.html"
    return render(request, template, _letter_context(request, letter, form=form), status=422)


@require_POST
@requires(Perm.PRESCRIBE)
def letter_send(request, letter_id: int):
    letter = selectors.letter_get_for(user=request.user, letter_id=letter_id)
    form = LetterSendForm(request.POST)
    if form.is_valid():
        try:
            services.letter_send(actor=request.user, letter=letter, sent_via=form.cleaned_data["sent_via"])
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error("sent_via" if name == "sent_via" else None, errors)
        else:
            messages.success(request, "Marked as sent. The letter is now locked.")
            return redirect("outcomes:letter", letter_id=letter.pk)
    return render(request, "outcomes/letter.html", _letter_context(request, letter, send_form=form), status=422)


@requires(Perm.CLINICAL_VIEW)
def letter_pdf(request, letter_id: int):
    letter = selectors.letter_get_for(user=request.user, letter_id=letter_id)
    snap = letter.snapshot
    svgs = []
    doses = [dt.datetime.fromisoformat(d) for d in snap.get("dose_times", [])]
    for key, points in snap.get("series", {}).items():
        svgs.append({"title": f"{key.upper()} total over time", "svg": figures.charts.line_chart(
            title=f"{key.upper()} total", series=[figures.charts.Series(key.upper(), [
                (dt.datetime.fromisoformat(at), value) for at, value in points])],
            y_range=_range_of(key, points), bands=_bands_of(key), markers=[figures.charts.Marker(d) for d in doses],
            ident=f"svg-letter-{key}", height=180, compact=True)})
    content = render_pdf("outcomes/pdf/letter.html", {"letter": letter, "snap": snap, "svgs": svgs,
                                                       "clinic": request.user.clinic})
    services.outcomes_exported(actor=request.user, what="progress_letter", fmt="pdf", patient=letter.patient)
    return pdf_response(content, f"progress-letter-{letter.pk}.pdf")


def _range_of(key: str, points) -> tuple[float, float]:
    instrument = selectors.instruments().get(key)
    if instrument is not None and instrument.total_range is not None:
        low, high = instrument.total_range
        return float(low), float(high)
    return 0.0, max([1.0, *[v for _, v in points]])


def _bands_of(key: str):
    instrument = selectors.instruments().get(key)
    if instrument is None:
        return []
    return [figures.charts.Band(float(b.low), float(b.high), b.label) for b in instrument.bands
            if b.low is not None and b.high is not None]
