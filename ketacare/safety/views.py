from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.core.forms import attach_errors
from ketacare.patients.services import patient_viewed
from ketacare.safety import selectors, services
from ketacare.safety.choices import AlertStatus
from ketacare.safety.forms import AcknowledgeForm, ContactForm, OnCallSettingForm, ShiftForm
from ketacare.safety.sources import source_url

PAGE_SIZE = 25
FILTERS = [("open", "Open"), ("acknowledged", "Acknowledged"), ("all", "All")]


@requires(Perm.CLINICAL_VIEW)
def alert_list(request):
    """The clinic's alerts, open and most urgent first; filter open / acknowledged / all."""
    status = request.GET.get("status", "open")
    if status not in dict(FILTERS):
        status = "open"
    alerts = selectors.alerts_for(user=request.user, status=None if status == "all" else status).annotate(
        n_findings=Count("findings"))
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    services.alerts_listed(actor=request.user, count=page.paginator.count, status=status, via="page")
    context = {"page": page, "status": status, "filters": FILTERS}
    if request.htmx and request.htmx.target == "alert-results":
        return render(request, "safety/alert_list.html#results", context)
    return render(request, "safety/alert_list.html", context)


@requires(Perm.CLINICAL_VIEW)
def alert_detail(request, alert_id: int):
    alert = selectors.alert_get_for(user=request.user, alert_id=alert_id)
    patient_viewed(actor=request.user, patient=alert.patient, via="alert")
    return _detail(request, alert, AcknowledgeForm())


@require_POST
@requires(Perm.ALERT_ACKNOWLEDGE)
def alert_acknowledge(request, alert_id: int):
    alert = selectors.alert_get_for(user=request.user, alert_id=alert_id)
    form = AcknowledgeForm(request.POST)
    if alert.is_open and form.is_valid():
        try:
            services.alert_acknowledge(alert=alert, actor=request.user, action=form.cleaned_data["action"])
        except ValidationError as exc:
            form.add_error("action", exc.message_dict.get("action", exc.messages))
        else:
            messages.success(request, "Alert acknowledged.")
            return redirect("safety:detail", alert_id=alert.pk)
    elif not alert.is_open:
        messages.error(request, "This alert was already acknowledged.")
        return redirect("safety:detail", alert_id=alert.pk)
    return _detail(request, alert, form, status=422)


def _detail(request, alert, form, status: int = 200):
    return render(request, "safety/alert_detail.html", {
        "alert": alert, "form": form, "source_url": source_url(alert), "findings": list(alert.findings.all()),
        "can_acknowledge": request.user.has_perm_to(Perm.ALERT_ACKNOWLEDGE) and alert.is_open,
        "other_open": selectors.open_alerts_for_patient(patient=alert.patient).exclude(pk=alert.pk),
        "open_status": AlertStatus.OPEN,
        "notifications": selectors.alert_notifications(alert=alert),
    }, status=status)


def alerts_panel_context(request, patient) -> dict:
    """Chart panel: the patient's open alerts, then the last acknowledged ones. Two queries."""
    alerts = selectors.alerts_for(user=request.user, patient=patient)
    return {
        "open": list(alerts.filter(status=AlertStatus.OPEN)),
        "recent": list(alerts.filter(status=AlertStatus.ACKNOWLEDGED)[:5]),
        "can_acknowledge": request.user.has_perm_to(Perm.ALERT_ACKNOWLEDGE),
    }


# ---- On call ------------------------------------------------------------------------------------------------------

def _oncall_page(request, *, shift_form=None, setting_form=None, contact_form=None, status: int = 200):
    from ketacare.accounts.models import User

    context = selectors.oncall_page_for(user=request.user)
    clinicians = User.objects.filter(pk__in=[c.pk for c in context["clinicians"]]).order_by("last_name")
    staff = User.objects.filter(pk__in=[m.pk for m in context["staff"]]).order_by("last_name")
    fallback, delay = context["policy"]
    context.update({
        "shift_form": shift_form or ShiftForm(clinicians=clinicians),
        "setting_form": setting_form or OnCallSettingForm(clinicians=clinicians, initial={
            "fallback_clinician": fallback, "escalation_delay_minutes": int(delay.total_seconds() // 60)}),
        "contact_form": contact_form or ContactForm(staff=staff),
        "delay_minutes": int(delay.total_seconds() // 60),
    })
    return render(request, "safety/oncall.html", context, status=status)


def _forms_querysets(request):
    from ketacare.accounts.models import User

    context = selectors.oncall_page_for(user=request.user)
    return (User.objects.filter(pk__in=[c.pk for c in context["clinicians"]]),
            User.objects.filter(pk__in=[m.pk for m in context["staff"]]))


@requires(Perm.CLINIC_CONFIGURE)
def oncall(request):
    return _oncall_page(request)


def _saved_or_again(request, form, save, page_kwarg: str, done: str):
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("safety:oncall")
    return _oncall_page(request, status=422, **{page_kwarg: form})


@require_POST
@requires(Perm.CLINIC_CONFIGURE)
def oncall_shift_add(request):
    clinicians, _staff = _forms_querysets(request)
    form = ShiftForm(request.POST, clinicians=clinicians)
    return _saved_or_again(request, form, lambda d: services.oncall_shift_add(actor=request.user, **d), "shift_form",
                           "Shift added.")


@require_POST
@requires(Perm.CLINIC_CONFIGURE)
def oncall_shift_remove(request, shift_id: int):
    services.oncall_shift_remove(actor=request.user, shift=selectors.shift_get_for(user=request.user,
                                                                                 shift_id=shift_id))
    messages.success(request, "Shift removed.")
    return redirect("safety:oncall")


@require_POST
@requires(Perm.CLINIC_CONFIGURE)
def oncall_settings(request):
    clinicians, _staff = _forms_querysets(request)
    form = OnCallSettingForm(request.POST, clinicians=clinicians)
    return _saved_or_again(request, form, lambda d: services.oncall_setting_revise(actor=request.user, **d),
                           "setting_form", "On-call policy saved as a new revision.")


@require_POST
@requires(Perm.CLINIC_CONFIGURE)
def oncall_contact(request):
    _clinicians, staff = _forms_querysets(request)
    form = ContactForm(request.POST, staff=staff)
    return _saved_or_again(request, form, lambda d: services.staff_contact_set(actor=request.user, **d),
                           "contact_form", "Mobile number saved.")
