import csv

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.audit.forms import AuditFilterForm
from ketacare.audit.models import AuditAction
from ketacare.audit.selectors import audit_events_for
from ketacare.audit.services import audit_record

PAGE_SIZE = 50


@requires(Perm.AUDIT_VIEW)
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events_for(user=request.user, **filters)
    if request.GET.get("format") == "csv" and form.is_valid():
        return _csv(request, events, filters)
    # Recorded before the page is read, so the count and the rows shown agree.
    audit_record(actor=request.user, action=AuditAction.AUDIT_VIEWED,
                 data={k: str(v) for k, v in filters.items() if v not in (None, "")})
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(request, "audit/audit_list.html", {"form": form, "page": page,
                                                     "querystring": querystring.urlencode()})


def _csv(request, events, filters):
    audit_record(actor=request.user, action=AuditAction.AUDIT_EXPORTED,
                 data={k: str(v) for k, v in filters.items() if v not in (None, "")})
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    writer = csv.writer(response)
    writer.writerow(["at", "user", "role", "action", "target_type", "target_id", "patient_id", "request_id", "ip"])
    for e in events.iterator():
        writer.writerow([e.at.isoformat(), e.actor_username, e.actor_role, e.action, e.target_type, e.target_id,
                         e.patient_id or "", e.request_id, e.ip or ""])
    return response
