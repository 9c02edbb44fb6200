"""Ledger pages: thin, each requiring its permission and audited."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError
from ketacare.ledger import selectors as sel
from ketacare.ledger import services
from ketacare.ledger.domain.clocks import expiry_status
from ketacare.ledger.models import LedgerEntry, StockBalance


@requires(Perm.LEDGER_VIEW)
def stock(request):
    """Balances per lot and location, with expiry flags and open investigations."""
    today = clock.today()
    rows = [{"balance": b, "expiry": expiry_status(b.lot.expires_on, today)}
            for b in sel.balances_for(user=request.user)]
    open_discrepancies = list(sel.discrepancies_for(user=request.user).filter(resolved_at__isnull=True))
    audit_record(actor=request.user, action=AuditAction.LEDGER_VIEWED, data={"page": "stock", "rows": len(rows)})
    return render(request, "ledger/stock.html", {"rows": rows, "discrepancies": open_discrepancies, "today": today})


def _to_session(session_id: int):
    return redirect(reverse("treatment:session-detail", args=[session_id]) + "#controlled-substances")


def _refused(request, exc) -> None:
    text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, f"Not recorded: {text}")


@require_POST
@requires(Perm.LEDGER_RECORD)
def session_draw(request, session_id: int):
    """Draw for this session from the lot and location chosen."""
    services.session_for(request.user, session_id)  # another clinic's session is not found (404)
    balance = StockBalance.objects.filter(clinic_id=request.user.clinic_id,
                                          pk=request.POST.get("balance") or 0).select_related("lot__product",
                                                                                             "location").first()
    try:
        if balance is None:
            raise ValidationError("Choose a lot and location.")
        services.ledger_draw(actor=request.user, session_id=session_id, lot=balance.lot, location=balance.location,
                             quantity=request.POST.get("quantity", ""))
    except (DomainError, ValidationError) as exc:
        _refused(request, exc)
    return _to_session(session_id)


@require_POST
@requires(Perm.LEDGER_RECORD)
def draw_settle(request, entry_id: int):
    """Record what became of a draw: given, wasted before a witness, or returned unopened."""
    draw = (LedgerEntry.objects.filter(clinic_id=request.user.clinic_id, pk=entry_id, kind="draw")
            .select_related("lot__product", "location", "session").first())
    if draw is None:
        raise services.LedgerNotFound()
    action, quantity = request.POST.get("action"), request.POST.get("quantity", "")
    try:
        if action == "administer":
            administration = request.POST.get("administration") or None
            ids = set(draw.session.administrations.values_list("pk", flat=True))
            if administration is not None and (not administration.isdigit() or int(administration) not in ids):
                raise ValidationError("Choose one of this session's administrations.")
            services.ledger_administer(actor=request.user, draw=draw, quantity=quantity,
                                       administration_id=int(administration) if administration else None)
        elif action == "waste":
            services.ledger_waste(actor=request.user, draw=draw, quantity=quantity,
                                  method=request.POST.get("method", ""),
                                  witness_username=request.POST.get("witness_username", ""),
                                  witness_password=request.POST.get("witness_password", ""))
        elif action == "return":
            services.ledger_return(actor=request.user, draw=draw, quantity=quantity)
        else:
            raise ValidationError("Unknown action.")
    except (DomainError, ValidationError) as exc:
        _refused(request, exc)
    return _to_session(draw.session_id)


@requires(Perm.LEDGER_MANAGE)
def dispensing_log(request):
    """The dispensing and administration log (1304.22(c)), on screen, as CSV or as PDF. Patient names are read:
    the read is audited with the patients it showed."""
    from ketacare.core.pdf import html_to_pdf, pdf_response
    from ketacare.ledger import reports

    product = request.GET.get("product")
    product_id = int(product) if product and product.isdigit() else None
    rows = reports.dispensing_log(user=request.user, product_id=product_id)
    fmt = request.GET.get("format", "")
    patient_ids = sorted({r.patient_id for r in rows if r.patient_id and r.values["patient"]})
    audit_record(actor=request.user, action=AuditAction.LEDGER_REPORT_EXPORTED if fmt else AuditAction.LEDGER_VIEWED,
                 data={"report": "dispensing_log", "format": fmt or "html", "rows": len(rows),
                       "patient_ids": patient_ids})
    context = {"rows": rows, "product_id": product_id,
               "registrants": [f"{r.name}, DEA {r.dea_number}" for r in sel.registrants_for(user=request.user)]}
    if fmt == "csv":
        response = HttpResponse(reports.to_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="dispensing-log.csv"'
        response["Cache-Control"] = "no-store"
        return response
    if fmt == "pdf":
        html = render_to_string("ledger/dispensing_pdf.html", context)
        return pdf_response(html_to_pdf(html), "dispensing-log.pdf")
    return render(request, "ledger/dispensing_log.html", context)
