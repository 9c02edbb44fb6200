"""Treatment pages: courses, the session page (the whole workflow), the live floor board, REMS forms, protocols.

Views parse input, call a selector or a service, and render. Self-refreshing parts (board rows, the session's status
strip) are the same views answering an htmx request for one partial; they carry the X-KetaCare-Poll header so that
they do not keep an idle screen signed in, and they are not audited as views (the page load is).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.middleware import POLL_HEADER
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.errors import DomainError
from ketacare.core.forms import attach_errors
from ketacare.core.pdf import html_to_pdf, pdf_response
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed, patients_listed
from ketacare.treatment import forms as f
from ketacare.treatment import links, presenters, services
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.dosing import DoseRefused
from ketacare.treatment.domain.protocols import DEFAULT_PROTOCOLS
from ketacare.treatment.domain.rems import PmfStatus, PmfTask, sort_by_deadline
from ketacare.treatment.domain.states import TransitionRefused
from ketacare.treatment.rems import PMF_TEMPLATES, form_draft, form_sections, form_status

PMF_STATUS_LABELS = {PmfStatus.PENDING: "Pending", PmfStatus.DUE_SOON: "Due soon", PmfStatus.OVERDUE: "Overdue",
                     PmfStatus.SUBMITTED: "Submitted"}


def _polling(request) -> bool:
    return POLL_HEADER in request.headers


# ---- Floor board -----------------------------------------------------------------------------------------------

@requires(Perm.CLINICAL_VIEW)
def board(request):
    """Every patient on the floor today; rows refresh by themselves every 15 s. Overdue readings are raised as
    alerts by the worker (`treatment.vitals_overdue`), not by this page."""
    context = {"rows": presenters.board(user=request.user, day=clock.today()), "today": clock.today(),
               "now": clock.now(),
               "can_record": request.user.has_perm_to(Perm.CLINICAL_RECORD)}
    if not _polling(request):  # the 15-second refreshes are not new reads
        patients_listed(actor=request.user, query="", count=len(context["rows"]), via="treatment_board")
    if request.htmx and request.htmx.target == "board-rows":
        return render(request, "treatment/board.html#rows", context)
    return render(request, "treatment/board.html", context)


@requires(Perm.CLINICAL_RECORD)
def board_vitals(request, session_id: int):
    """Record vitals from the board: the form opens beside the rows (so polling never wipes it)."""
    session = sel.session_get_for(user=request.user, session_id=session_id)
    if request.method == "GET":
        services.session_viewed(actor=request.user, session=session, via="board-vitals")
    form = f.VitalsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, alerts = services.vitals_record(actor=request.user, session=session,
                                               taken_at=form.cleaned_data.get("taken_at"), **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            response = render(request, "treatment/board.html#vitals-done", {"session": session, "alerts": alerts})
            response["HX-Trigger"] = "board-refresh"
            return response
    status = 200 if request.htmx or not form.errors else 422
    return render(request, "treatment/board.html#vitals-form", {"session": session, "form": form}, status=status)


# ---- Courses ---------------------------------------------------------------------------------------------------

@requires(Perm.PRESCRIBE)
def course_create(request, patient_id: int):
    patient = patient_get_for(user=request.user, patient_id=patient_id)
    if request.method == "GET":
        patient_viewed(actor=request.user, patient=patient, via="course-form")
    form = f.CourseForm(request.POST or None, initial={"start_on": clock.today()})
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_create(actor=request.user, patient=patient, **{
                "protocol_ref": form.cleaned_data["protocol"], "start_on": form.cleaned_data["start_on"],
                "open_ended_cycles": form.cleaned_data["open_ended_cycles"],
                "open_ended_cycle_days": form.cleaned_data["open_ended_cycle_days"]})
        except ValidationError as exc:
            attach_errors(form, exc)
        except services.CourseNotCleared as exc:
            refusal = exc
        else:
            messages.success(request, f"Course started: {len(course.sessions.all())} sessions planned.")
            return redirect("treatment:course-detail", course_id=course.pk)
    status = 409 if refusal else (422 if form.errors else 200)
    return render(request, "treatment/course_form.html", {"patient": patient, "form": form, "refusal": refusal,
                                                          "protocols": DEFAULT_PROTOCOLS}, status=status)


def _course_context(request, course, **extra):
    sessions = list(course.sessions.all())
    return {"course": course, "patient": course.patient, "sessions": sessions,
            "summary": sel.course_summary(course), "protocol": sel.protocol_in_force(course.clinic_id,
                                                                                     course.protocol_ref)[0],
            "can_prescribe": request.user.has_perm_to(Perm.PRESCRIBE),
            "can_record": request.user.has_perm_to(Perm.CLINICAL_RECORD),
            "reschedule_form": extra.pop("reschedule_form", None) or f.RescheduleForm(),
            "end_form": extra.pop("end_form", None) or f.CourseEndForm(), **extra}


@requires(Perm.CLINICAL_VIEW)
def course_detail(request, course_id: int):
    course = sel.course_get_for(user=request.user, course_id=course_id)
    patient_viewed(actor=request.user, patient=course.patient, via="course_detail")
    return render(request, "treatment/course_detail.html", _course_context(request, course))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def course_reschedule(request, course_id: int):
    course = sel.course_get_for(user=request.user, course_id=course_id)
    form = f.RescheduleForm(request.POST)
    if form.is_valid():
        session = next((s for s in course.sessions.all() if s.pk == form.cleaned_data["session_id"]), None)
        if session is None:
            form.add_error("session_id", "Not a session of this course.")
        else:
            try:
                services.course_reschedule(actor=request.user, session=session, new_on=form.cleaned_data["new_on"],
                                           shift_following=form.cleaned_data["shift_following"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"Session {session.number} moved.")
                return redirect("treatment:course-detail", course_id=course.pk)
    return render(request, "treatment/course_detail.html",
                  _course_context(request, course, reschedule_form=form), status=422)


@require_POST
@requires(Perm.PRESCRIBE)
def course_end(request, course_id: int):
    course = sel.course_get_for(user=request.user, course_id=course_id)
    form = f.CourseEndForm(request.POST)
    if form.is_valid():
        try:
            services.course_end(actor=request.user, course=course, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return redirect("treatment:course-detail", course_id=course.pk)
    return render(request, "treatment/course_detail.html", _course_context(request, course, end_form=form),
                  status=422)


# ---- The session page ------------------------------------------------------------------------------------------

def _session_context(request, session, **forms_):
    page = presenters.session_page(session, user=request.user)
    protocol = page["protocol"]
    user = request.user
    can = {"record": user.has_perm_to(Perm.CLINICAL_RECORD), "prescribe": user.has_perm_to(Perm.PRESCRIBE),
           "administer": user.has_perm_to(Perm.DOSE_ADMINISTER), "ack": user.has_perm_to(Perm.ALERT_ACKNOWLEDGE)}
    locked = session.is_signed
    defaults = {
        "predose_form": f.PredoseForm(instance=session, protocol=protocol, can_decide_bp=can["prescribe"]),
        "order_form": f.DoseOrderForm(protocol=protocol, initial={"dose_mg": services.dose_default_mg(session)}),
        "administration_form": f.AdministrationForm(initial={"lot_number": sel.next_lot_number(session)
                                                             or links.suggested_lot_number(session)}),
        "infusion_end_form": f.InfusionEndForm(),
        "vitals_form": f.VitalsForm(),
        "side_effects_form": f.SideEffectsForm(),
        "adverse_event_form": f.AdverseEventForm(initial={"onset_at": clock.now()}),
        "discharge_form": f.DischargeForm(protocol=protocol, initial={
            "criteria": session.discharge_criteria, "ready_to_leave_minutes": session.ready_to_leave_minutes}),
        "note_form": f.NoteForm(initial={"note": session.note}),
        "addendum_form": f.AddendumForm(),
        "enrollment_form": f.RemsEnrollmentForm(initial={"enrolled_on": clock.today()}),
    }
    defaults.update(forms_)
    return {"session": session, "course": session.course, "patient": session.patient, "can": can,
            "locked": locked, "extra_panels": links.session_panels(request, session), **page, **defaults}


def _session_page(request, session, status=200, **extra):
    return render(request, "treatment/session_detail.html", _session_context(request, session, **extra),
                  status=status)


def _back(session, anchor: str = ""):
    return redirect(reverse("treatment:session-detail", args=[session.pk]) + (f"#{anchor}" if anchor else ""))


def _session_form_post(request, session, form, *, context_name: str, anchor: str, record):
    """The session page's plain forms: valid input goes to `record(cleaned_data)` (a service call), and a
    ValidationError from the service lands on the form. Saved: back to the page at `anchor`; otherwise the page
    again with this form and its errors (422)."""
    if form.is_valid():
        try:
            record(form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _back(session, anchor)
    return _session_page(request, session, status=422, **{context_name: form})


@requires(Perm.CLINICAL_VIEW)
def session_detail(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    if request.htmx and request.htmx.target == "session-status":
        return render(request, "treatment/session_detail.html#status", _session_context(request, session))
    if not _polling(request):
        services.session_viewed(actor=request.user, session=session, via="page")
    return _session_page(request, session)


@require_POST
@requires(Perm.CLINICAL_RECORD)
def session_transition(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    form = f.TransitionForm(request.POST)
    if not form.is_valid():
        return _session_page(request, session, status=422, transition_errors=[
            str(e) for errors in form.errors.values() for e in errors])
    try:
        services.session_transition(actor=request.user, session=session, to=form.cleaned_data["to"],
                                    reason=form.cleaned_data["reason"], room=form.cleaned_data["room"])
    except TransitionRefused as exc:
        lines = presenters.refusal_lines(exc.refusals, session, sel.session_protocol(session), clock.now())
        return _session_page(request, session, status=409, transition_refused=exc, transition_lines=lines)
    except ValidationError as exc:
        return _session_page(request, session, status=422, transition_errors=exc.messages)
    return _back(session)


@require_POST
@requires(Perm.CLINICAL_RECORD)
def session_predose(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    # The form fills its own copy of the session: refused input must not show on the page as if it were recorded.
    form = f.PredoseForm(request.POST, instance=sel.session_get_for(user=request.user, session_id=session_id),
                         protocol=sel.session_protocol(session), can_decide_bp=request.user.has_perm_to(Perm.PRESCRIBE))
    return _session_form_post(request, session, form, context_name="predose_form", anchor="pre-dose",
                              record=lambda data: services.predose_record(
                                  actor=request.user, session=session, **{k: data[k] for k in form.fields}))


@require_POST
@requires(Perm.PRESCRIBE)
def dose_order_create(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    form = f.DoseOrderForm(request.POST, protocol=sel.session_protocol(session))
    order_problem = None
    if form.is_valid():
        try:
            services.dose_order(actor=request.user, session=session,
                                **{k: v for k, v in form.cleaned_data.items() if v not in (None, "") or
                                   k == "override_reason"})
        except ValidationError as exc:
            attach_errors(form, exc)
        except (services.DoseOverrideRequired, DoseRefused) as exc:
            order_problem = exc
        else:
            return _back(session, "dose")
    return _session_page(request, session, status=409 if order_problem else 422, order_form=form,
                         order_problem=order_problem)


@require_POST
@requires(Perm.DOSE_ADMINISTER)
def dose_administer(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)

    def record(data):
        row = services.dose_administer(actor=request.user, session=session, lot_number=data["lot_number"],
                                       given_at=data["given_at"], early_reason=data.get("early_reason") or "")
        for warning in row.warnings:
            messages.warning(request, warning)

    return _session_form_post(request, session, f.AdministrationForm(request.POST),
                              context_name="administration_form", anchor="dose", record=record)


@require_POST
@requires(Perm.DOSE_ADMINISTER)
def infusion_end(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    return _session_form_post(request, session, f.InfusionEndForm(request.POST),
                              context_name="infusion_end_form", anchor="dose",
                              record=lambda data: services.infusion_end(actor=request.user, session=session,
                                                                        ended_at=data["ended_at"]))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def vitals_create(request, session_id: int):
    """Record a reading; from the page's htmx form the vitals panel and the alerts panel come back at once."""
    session = sel.session_get_for(user=request.user, session_id=session_id)
    form = f.VitalsForm(request.POST)
    if form.is_valid():
        try:
            services.vitals_record(actor=request.user, session=session, taken_at=form.cleaned_data.get("taken_at"),
                                   **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            form = f.VitalsForm()
            if not request.htmx:
                return _back(session, "vitals")
    session = sel.session_get_for(user=request.user, session_id=session_id)
    context = _session_context(request, session, vitals_form=form)
    if request.htmx:
        html = render_to_string("treatment/session_detail.html#vitals-panel", context, request=request)
        html += render_to_string("treatment/session_detail.html#alerts-panel", {**context, "oob": True},
                                 request=request)
        return HttpResponse(html)
    return render(request, "treatment/session_detail.html", context, status=422)


@require_POST
@requires(Perm.CLINICAL_RECORD)
def side_effects_create(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    return _session_form_post(request, session, f.SideEffectsForm(request.POST),
                              context_name="side_effects_form", anchor="side-effects",
                              record=lambda data: services.side_effects_record(actor=request.user, session=session,
                                                                               **data))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def adverse_event_create(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    return _session_form_post(request, session, f.AdverseEventForm(request.POST),
                              context_name="adverse_event_form", anchor="side-effects",
                              record=lambda data: services.adverse_event_record(actor=request.user, session=session,
                                                                                **data))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def adverse_event_resolve(request, event_id: int):
    event = sel.adverse_event_get_for(user=request.user, event_id=event_id)
    return _session_form_post(request, event.session, f.AdverseEventResolveForm(request.POST),
                              context_name="resolve_form", anchor="side-effects",
                              record=lambda data: services.adverse_event_resolve(actor=request.user, event=event,
                                                                                 **data))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def discharge_criteria(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    form = f.DischargeForm(request.POST, protocol=sel.session_protocol(session))
    return _session_form_post(request, session, form, context_name="discharge_form", anchor="discharge",
                              record=lambda data: services.discharge_criteria_record(
                                  actor=request.user, session=session, criteria=data["criteria"],
                                  ready_to_leave_minutes=data.get("ready_to_leave_minutes")))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def session_note(request, session_id: int):
    """Save the note, or save and sign it (then the session is locked)."""
    session = sel.session_get_for(user=request.user, session_id=session_id)
    save = services.session_sign if request.POST.get("sign") else services.session_note_save
    return _session_form_post(request, session, f.NoteForm(request.POST), context_name="note_form", anchor="note",
                              record=lambda data: save(actor=request.user, session=session, text=data["note"]))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def addendum_create(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    return _session_form_post(request, session, f.AddendumForm(request.POST), context_name="addendum_form",
                              anchor="note",
                              record=lambda data: services.session_addendum_add(actor=request.user, session=session,
                                                                                text=data["text"]))


@require_POST
@requires(Perm.ALERT_ACKNOWLEDGE)
def alert_acknowledge(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    return _session_form_post(request, session, f.AcknowledgeForm(request.POST), context_name="ack_form",
                              anchor="alerts",
                              record=lambda data: services.session_alert_acknowledge(
                                  actor=request.user, session=session, alert_id=data["alert_id"],
                                  action=data["action"]))


@require_POST
@requires(Perm.CLINICAL_RECORD)
def rems_enrollment_create(request, session_id: int):
    session = sel.session_get_for(user=request.user, session_id=session_id)
    return _session_form_post(request, session, f.RemsEnrollmentForm(request.POST), context_name="enrollment_form",
                              anchor="pre-dose",
                              record=lambda data: services.rems_enrollment_record(
                                  actor=request.user, patient=session.patient, **data))


@requires(Perm.CLINICAL_RECORD)
def session_measure(request, session_id: int):
    """Enter a questionnaire for this session (the item form comes from the instruments app)."""
    from ketacare.instruments.forms import ResponseForm, default_answered_at
    from ketacare.instruments.selectors import instrument_get

    session = sel.session_get_for(user=request.user, session_id=session_id)
    if request.method == "GET":
        services.session_viewed(actor=request.user, session=session, via="measure")
    protocol = sel.session_protocol(session)
    key = request.POST.get("instrument") or request.GET.get("instrument") or ""
    due = {q.instrument for q in protocol.questionnaires}
    if key not in due:
        key = next(iter(sorted(due)), "")
    if not key:
        raise sel.ProtocolNotFound("This protocol asks for no questionnaire.")
    instrument = instrument_get(key, session.clinic)
    offsets = sorted({q.offset_hours for q in protocol.questionnaires if q.instrument == key and not q.pre_dose})
    offset = request.GET.get("offset", "")
    offset_form = f.MeasureOffsetForm(request.POST or None,
                                      initial={"offset_hours": int(offset) if offset.isdigit() else 0})
    form = ResponseForm(request.POST or None, instrument=instrument,
                        initial={"answered_at": default_answered_at(), "mode": "self_report"})
    if request.method == "POST" and form.is_valid() and offset_form.is_valid():
        answers = form.answers()
        missing = _unanswered(instrument, answers)
        if missing and not form.cleaned_data.get("allow_incomplete"):
            for link_id in missing:
                form.add_error(form.field_for(link_id), "Not answered.")
            form.add_error("allow_incomplete", f"{len(missing)} item{'s' if len(missing) != 1 else ''} unanswered: "
                                               "answer them, or tick this box to save an incomplete score.")
        else:
            try:
                services.session_measure_record(actor=request.user, session=session, instrument_key=key,
                                                answers=answers, answered_at=form.cleaned_data["answered_at"],
                                                mode=form.cleaned_data["mode"],
                                                offset_hours=offset_form.cleaned_data.get("offset_hours"))
            except ValidationError as exc:
                attach_errors(form, exc)
            except DomainError as exc:
                field_id = getattr(exc, "link_id", None)
                if field_id and form.field_for(field_id):
                    form.add_error(form.field_for(field_id), str(getattr(exc, "reason", exc)))
                else:
                    raise
            else:
                return _back(session, "measures")
    return render(request, "treatment/measure_form.html", {
        "session": session, "patient": session.patient, "instrument": instrument, "form": form,
        "offset_form": offset_form, "after_dose": session.first_dose_at is not None, "offsets": offsets},
        status=422 if form.errors or offset_form.errors else 200)


def _unanswered(instrument, answers) -> tuple[str, ...]:
    """Items the scorer still misses (skipped follow-up questions of a screen do not count), as the instruments
    app judges it."""
    from ketacare.instruments.domain.model import InvalidAnswer
    from ketacare.instruments.services import score_answers

    try:
        return tuple(score_answers(instrument=instrument, answers=answers).missing)
    except InvalidAnswer:
        return ()  # the service refuses it with the item named


# ---- REMS ------------------------------------------------------------------------------------------------------

@requires(Perm.CLINICAL_VIEW)
def rems_board(request):
    """Patient Monitoring Forms pending, due soon, overdue or submitted, earliest deadline first."""
    today = clock.today()
    forms_ = {form.pk: form for form in sel.rems_forms_for(user=request.user)}
    tasks = [PmfTask(form.pk, form.session_on, form.submitted_at) for form in forms_.values()]
    settings, _ = sel.rems_settings(request.user.clinic_id)
    ordered = [forms_[t.session_id] for t in sort_by_deadline(tasks, settings)]
    status_filter = request.GET.get("status", "")
    rows = []
    for form in ordered:
        status = form_status(form, today, settings)
        if status_filter and status.value != status_filter:
            continue
        days_left = (form.due_on - today).days
        rows.append({"form": form, "status": status, "status_label": PMF_STATUS_LABELS[status],
                     "days_left": days_left, "days_late": -days_left})
    patients_listed(actor=request.user, query=status_filter, count=len(rows), via="rems_board")
    return render(request, "treatment/rems_board.html", {"rows": rows, "status_filter": status_filter,
                                                          "today": today})


def _rems_form_page(request, form, *, submit_form, problem=None, status=200):
    draft = form_draft(form)
    pmf_status = form_status(form, clock.today())
    return render(request, "treatment/rems_form.html", {
        "rems_form": form, "session": form.session, "draft": draft, "sections": form_sections(draft),
        "status": pmf_status, "status_label": PMF_STATUS_LABELS[pmf_status], "submit_form": submit_form,
        "problem": problem, "can_record": request.user.has_perm_to(Perm.CLINICAL_RECORD)}, status=status)


@requires(Perm.CLINICAL_VIEW)
def rems_form_detail(request, form_id: int):
    form = sel.rems_form_get_for(user=request.user, form_id=form_id)
    services.session_viewed(actor=request.user, session=form.session, via="rems_form")
    return _rems_form_page(request, form, submit_form=f.PmfSubmitForm())


@requires(Perm.CLINICAL_VIEW)
def rems_form_pdf(request, form_id: int):
    form = sel.rems_form_get_for(user=request.user, form_id=form_id)
    draft = form_draft(form)
    html = render_to_string(PMF_TEMPLATES.get(form.template_version, next(iter(PMF_TEMPLATES.values()))), {
        "rems_form": form, "draft": draft, "sections": form_sections(draft),
        "generated_at": clock.now()}, request=request)
    pdf = html_to_pdf(html)  # fetches nothing: the form's styles are inline
    services.pmf_exported(actor=request.user, form=form)
    # The file name carries the form's id only: no patient data in headers or logs; never cached (core.pdf).
    return pdf_response(pdf, f"rems-pmf-{form.pk}.pdf", inline=True)


@require_POST
@requires(Perm.CLINICAL_RECORD)
def rems_form_submit(request, form_id: int):
    form = sel.rems_form_get_for(user=request.user, form_id=form_id)
    submit_form = f.PmfSubmitForm(request.POST)
    problem = None
    if submit_form.is_valid():
        try:
            services.pmf_submit(actor=request.user, form=form, reference=submit_form.cleaned_data["reference"])
        except services.PmfIncomplete as exc:
            problem = exc
        else:
            messages.success(request, "Patient Monitoring Form marked as submitted.")
            return redirect("treatment:rems-form", form_id=form.pk)
    return _rems_form_page(request, form, submit_form=submit_form, problem=problem, status=409 if problem else 422)


# ---- Clinic configuration --------------------------------------------------------------------------------------

@requires(Perm.CLINIC_CONFIGURE)
def protocol_list(request):
    return render(request, "treatment/protocol_list.html", {
        "protocols": sel.protocols_for_clinic(request.user.clinic_id),
        "rems": sel.rems_setting_current(request.user.clinic_id)})


@requires(Perm.CLINIC_CONFIGURE)
def protocol_edit(request):
    ref = request.POST.get("protocol") or request.GET.get("protocol") or next(iter(DEFAULT_PROTOCOLS))
    base = sel.protocol_base(ref)
    current, setting = sel.protocol_in_force(request.user.clinic_id, ref)
    form = f.ProtocolForm(request.POST or None, base=base, current=current)
    if request.method == "POST" and form.is_valid():
        overrides = form.overrides()
        if not form.errors:
            try:
                services.protocol_configure(actor=request.user, protocol_ref=ref, overrides=overrides,
                                            reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"{base.title}: clinic values saved as a new revision.")
                return redirect("treatment:protocols")
    return render(request, "treatment/protocol_form.html", {
        "base": base, "current": current, "setting": setting, "form": form,
        "history": sel.protocol_history(request.user.clinic_id, ref)}, status=422 if form.errors else 200)


@requires(Perm.CLINIC_CONFIGURE)
def rems_settings(request):
    current = sel.rems_setting_current(request.user.clinic_id)
    form = f.RemsSettingForm(request.POST or None, instance=None, templates=PMF_TEMPLATES,
                             initial=({k: getattr(current, k) for k in services.REMS_FIELDS} if current else
                                      {"setting_name": request.user.clinic.name}))
    if request.method == "POST" and form.is_valid():
        values = {k: form.cleaned_data[k] for k in services.REMS_FIELDS}
        try:
            services.rems_configure(actor=request.user, reason=form.cleaned_data["reason"], **values)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "REMS configuration saved as a new revision.")
            return redirect("treatment:protocols")
    return render(request, "treatment/rems_settings.html", {"form": form, "current": current,
                  "history": sel.rems_setting_history(request.user.clinic_id)},
                  status=422 if form.errors else 200)
