from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.patients.services import patient_viewed
from ketacare.safety import selectors, services
from ketacare.safety.choices import AlertStatus
from ketacare.safety.forms import AcknowledgeForm
from ketacare.safety.sources import source_url

PAGE_SIZE = 25
FILTERS = [("open", "Open"), ("acknowledged", "Acknowledged"), ("all", "All")]


@requires(Perm.CLINICAL_VIEW)
def alert_list(request):
    """The clinic's alerts, open and most urgent first; filter open / acknowledged / all."""
    status = request.GET.get("status", "open")
    if status not in dict(FILTERS):
        status = "open"
    alerts = selectors.alerts_for(user=request.user, status=None if status == "all" else status)
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
        "alert": alert, "form": form, "source_url": source_url(alert),
        "can_acknowledge": request.user.has_perm_to(Perm.ALERT_ACKNOWLEDGE) and alert.is_open,
        "other_open": selectors.open_alerts_for_patient(patient=alert.patient).exclude(pk=alert.pk),
        "open_status": AlertStatus.OPEN,
    }, status=status)


def alerts_panel_context(request, patient) -> dict:
    """Chart panel: the patient's open alerts, then the last acknowledged ones. Two queries."""
    alerts = selectors.alerts_for(user=request.user, patient=patient)
    return {
        "open": list(alerts.filter(status=AlertStatus.OPEN)),
        "recent": list(alerts.filter(status=AlertStatus.ACKNOWLEDGED)[:5]),
        "can_acknowledge": request.user.has_perm_to(Perm.ALERT_ACKNOWLEDGE),
    }
