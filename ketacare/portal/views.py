"""The patient's pages (no account: a secure link and the date of birth) and the staff pages of the portal.

Patient pages: the token is only in the first URL (/p/<token>/); that view keeps the link's id in the session and
redirects to token-free pages, so the token does not stay in the address bar, the history or a Referer header.
Every page works without JavaScript (plain forms), in English or Spanish.

Design choice, one scrolling form per questionnaire (not one question per screen): PHQ-9 and GAD-7 were validated
as one page under one shared stem and recall period ("over the last 2 weeks"); seeing the items together keeps the
stem in view and the answers consistent, and is one plain POST per questionnaire on a slow phone connection. Each
questionnaire is recorded as soon as it is sent (so a suicide-risk answer raises its alert at once, even if the
patient stops before the next one); what has been answered but not sent is kept as a draft.
"""

import datetime as dt

from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from ketacare.accounts.access import public, requires
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.forms import attach_errors
from ketacare.portal import presenters, selectors, services
from ketacare.portal.choices import Language
from ketacare.portal.domain.links import LOCKOUT, LinkState
from ketacare.portal.models import SecureLink

SESSION_LINK = "portal_link"
SESSION_VERIFIED = "portal_verified"
SESSION_LANG = "portal_lang"

STATE_STATUS = {LinkState.INVALID: 404, LinkState.EXPIRED: 410, LinkState.REVOKED: 410, LinkState.COMPLETED: 200,
                LinkState.LOCKED: 429, LinkState.NOT_YET_OPEN: 200}


def _language(request, link: SecureLink | None = None) -> str:
    chosen = request.session.get(SESSION_LANG)
    if chosen in Language.values:
        return chosen
    if link is not None:
        pref = services.contact_for(link.due_item.patient)
        if pref is not None:
            return pref.language
    from_request = translation.get_language_from_request(request)
    return from_request if from_request in Language.values else Language.ENGLISH


def _render(request, template: str, context: dict, *, link: SecureLink | None = None, status: int = 200):
    language = _language(request, link)
    with translation.override(language):
        context = {"lang": language, "languages": Language.choices, "next": request.path, **context}
        response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"  # nothing of a patient's page stays in a shared browser's cache
    # never to another site ("no-referrer" would make the forms send Origin: null, which CSRF refuses)
    response["Referrer-Policy"] = "same-origin"
    response["Content-Language"] = language
    return response


def _state_page(request, state: LinkState, link: SecureLink | None = None, *, status: int | None = None):
    clinic_name = link.due_item.patient.clinic.name if link is not None else ""
    return _render(request, "portal/state.html", {"state": state.value, "clinic_name": clinic_name,
                                                  "lockout_minutes": int(LOCKOUT.total_seconds() // 60)},
                   link=link, status=status or STATE_STATUS.get(state, 200))


def _no_link_page(request):
    """A patient page opened without a link in this browser (a bookmark, a new browser): the same "not valid"
    page, as a normal page rather than a 404 (nothing was looked up)."""
    return _state_page(request, LinkState.INVALID, status=200)


def _session_link(request, *, verified: bool) -> tuple[SecureLink | None, LinkState]:
    """The link this browser opened (and verified, if asked) and its state now; INVALID when there is none."""
    link_id = request.session.get(SESSION_LINK)
    if link_id is None or (verified and request.session.get(SESSION_VERIFIED) != link_id):
        return None, LinkState.INVALID
    link = SecureLink.objects.select_related("due_item__patient__clinic").filter(pk=link_id).first()
    if link is None:
        return None, LinkState.INVALID
    return link, services.link_state(link, clock.now())


@public
@require_http_methods(["GET"])
def link_open(request, token: str):
    opened = services.link_open(token=token)
    if opened.state is not LinkState.OK or opened.link is None:
        return _state_page(request, opened.state, opened.link)
    if request.session.get(SESSION_LINK) != opened.link.pk:
        request.session.cycle_key()
        request.session[SESSION_LINK] = opened.link.pk
        request.session.pop(SESSION_VERIFIED, None)
    return redirect("portal:verify")


@public
@require_http_methods(["GET", "POST"])
def verify(request):
    link, state = _session_link(request, verified=False)
    if link is None:
        return _no_link_page(request)
    if state is not LinkState.OK:
        return _state_page(request, state, link)
    if request.session.get(SESSION_VERIFIED) == link.pk:
        return redirect("portal:questionnaire")
    error, attempts_left = "", None
    if request.method == "POST":
        given = _parse_date(request.POST)
        result = services.dob_check(link=link, date_of_birth=given)
        if result.ok:
            request.session.cycle_key()
            request.session[SESSION_VERIFIED] = link.pk
            return redirect("portal:questionnaire")
        if result.state is not LinkState.OK:
            return _state_page(request, result.state, link)
        attempts_left = result.attempts_left
        error = "format" if given is None else "mismatch"
    return _render(request, "portal/verify.html", {"clinic_name": link.due_item.patient.clinic.name,
                                                   "error": error, "attempts_left": attempts_left}, link=link,
                   status=400 if error else 200)


def _parse_date(post) -> dt.date | None:
    """Month, day and year as three plain number fields (no date picker: its display differs per browser and
    language, and three labelled fields read well with a screen reader)."""
    try:
        return dt.date(int(post.get("dob_year", "").strip()), int(post.get("dob_month", "").strip()),
                       int(post.get("dob_day", "").strip()))
    except (ValueError, TypeError):
        return None


def _crisis(item) -> list[dict] | None:
    if not services.item_suicide_risk(item):
        return None
    return list(services.portal_policy(item.clinic_id).crisis_resources)


@public
@require_http_methods(["GET", "POST"])
def questionnaire(request):
    from ketacare.instruments.selectors import instrument_get

    link, state = _session_link(request, verified=True)
    if link is None:
        return _no_link_page(request)
    if state is LinkState.COMPLETED:
        return redirect("portal:done")
    if state is not LinkState.OK:
        return _state_page(request, state, link)
    item = link.due_item
    remaining = [k for k in item.instruments if k not in services.done_instruments(item)]
    if not remaining:
        return redirect("portal:done")
    key = remaining[0]
    language = _language(request, link)
    instrument = instrument_get(key, item.patient.clinic)
    with translation.override(language):
        form = presenters.questionnaire(instrument, language=language, answers=item.draft.get(key, {}), errors={})
        errors: dict[str, str] = {}
        if request.method == "POST":
            answers, errors = presenters.answers_from(request.POST, form["questions"])
            if request.POST.get("action") == "save":
                services.draft_save(link_id=link.pk, instrument_key=key, answers=answers)
                return _render(request, "portal/saved.html", {"clinic_name": item.patient.clinic.name}, link=link)
            if errors:
                services.draft_save(link_id=link.pk, instrument_key=key, answers=answers)
                form = presenters.questionnaire(instrument, language=language, answers=answers, errors=errors)
            else:
                submitted = services.questionnaire_submit(link_id=link.pk, instrument_key=key, answers=answers)
                return redirect("portal:done" if submitted.completed else "portal:questionnaire")
        else:
            audit_record(actor=None, username=services.PATIENT, action=AuditAction.PORTAL_FORM_VIEWED, target=item,
                         patient_id=item.patient_id, clinic_id=item.clinic_id, data={"instrument": key})
    position = len(item.instruments) - len(remaining) + 1
    return _render(request, "portal/questionnaire.html", {
        "form": form, "errors": [q for q in form["questions"] if q.error], "position": position,
        "count": len(item.instruments), "first_name": item.patient.given_name,
        "clinic_name": item.patient.clinic.name, "crisis": _crisis(item)}, link=link, status=400 if errors else 200)


@public
@require_http_methods(["GET"])
def done(request):
    link, state = _session_link(request, verified=True)
    if link is None:
        return _no_link_page(request)
    item = link.due_item
    if state is LinkState.OK:
        return redirect("portal:questionnaire")
    if state is not LinkState.COMPLETED:
        return _state_page(request, state, link)
    return _render(request, "portal/done.html", {"clinic_name": item.patient.clinic.name, "crisis": _crisis(item)},
                   link=link)


@public
@require_POST
def language(request):
    chosen = request.POST.get("language", "")
    if chosen in Language.values:
        request.session[SESSION_LANG] = chosen
    back = request.POST.get("next", "")
    if not back.startswith("/p/") or "//" in back or back.count("/") > 3:
        back = reverse("portal:verify")
    return HttpResponseRedirect(back)


# ---- Staff pages ------------------------------------------------------------------------------------------------

@requires(Perm.PATIENT_EDIT)
@require_http_methods(["GET", "POST"])
def contact_edit(request, patient_id: int):
    from ketacare.patients.selectors import patient_get_for
    from ketacare.portal.forms import ContactForm

    patient = patient_get_for(user=request.user, patient_id=patient_id)
    current = selectors.contact_get_for(user=request.user, patient=patient)
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                services.contact_update(actor=request.user, patient=patient, **form.cleaned_data)
            except Exception as exc:  # noqa: BLE001 - shown on the form
                from django.core.exceptions import ValidationError

                if not isinstance(exc, ValidationError):
                    raise
                attach_errors(form, exc)
            else:
                return redirect("patients:detail", patient_id=patient.pk)
    else:
        initial = {f: getattr(current, f) for f in ContactForm.base_fields} if current else {
            "email": patient.email, "mobile": patient.phone}
        form = ContactForm(initial=initial)
        audit_record(actor=request.user, action=AuditAction.PORTAL_CONTACT_VIEWED, patient_id=patient.pk)
    return render(request, "portal/contact_edit.html", {"patient": patient, "form": form})


@requires(Perm.CLINICAL_VIEW)
@require_http_methods(["GET"])
def adherence(request):
    now = clock.now()
    totals, table = selectors.adherence_for_clinic(user=request.user, now=now)
    audit_record(actor=request.user, action=AuditAction.PORTAL_ADHERENCE_VIEWED, data={"patients": len(table)})
    return render(request, "portal/adherence.html", {"totals": totals, "table": table})
