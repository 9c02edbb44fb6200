"""Ledger pages: thin, each requiring its permission and audited."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError
from ketacare.core.forms import attach_errors
from ketacare.ledger import selectors as sel
from ketacare.ledger import services
from ketacare.ledger.domain.clocks import expiry_status, inventory_due_on
from ketacare.ledger.models import LedgerEntry, StockBalance


@requires(Perm.LEDGER_VIEW)
def stock(request):
    """Balances per lot and location, with expiry flags and open investigations."""
    today = clock.today()
    profile = sel.profile_for(request.user.clinic_id)
    rows = [{"balance": b, "expiry": expiry_status(b.lot.expires_on, today, profile)}
            for b in sel.balances_for(user=request.user)]
    open_discrepancies = list(sel.discrepancies_for(user=request.user).filter(resolved_at__isnull=True))
    last_inventory = sel.last_inventory_for(user=request.user)
    last_on = timezone.localdate(last_inventory.counted_at) if last_inventory else None
    first_use = sel.first_dispensing_on(user=request.user)
    audit_record(actor=request.user, action=AuditAction.LEDGER_VIEWED, data={"page": "stock", "rows": len(rows)})
    return render(request, "ledger/stock.html", {
        "rows": rows, "discrepancies": open_discrepancies, "today": today,
        "can_manage": request.user.has_perm_to(Perm.LEDGER_MANAGE), "locations": sel.locations_for(user=request.user),
        "last_inventory": last_inventory,
        "inventory_due_on": inventory_due_on(last_on, first_use, profile)})


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
    session = draw.session
    assert session is not None  # a draw is always a session's (a CHECK constraint)
    try:
        if action == "administer":
            administration = request.POST.get("administration") or None
            ids = set(session.administrations.values_list("pk", flat=True))
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
    return _to_session(session.pk)


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
    context = {"rows": rows, "product_id": product_id, "products": sel.products_for(user=request.user),
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


# ---- Setup (clinic admin) ------------------------------------------------------------------------------------

@requires(Perm.LEDGER_MANAGE)
def setup(request):
    """Registrant, storage locations, suppliers and products, each added with its own form."""
    from ketacare.ledger import forms as lf

    user = request.user
    forms_ = {"registrant": lf.RegistrantForm(prefix="registrant"),
              "location": lf.LocationForm(prefix="location", registrants=sel.registrants_for(user=user)),
              "supplier": lf.SupplierForm(prefix="supplier"), "product": lf.ProductForm(prefix="product")}
    status = 200
    which = request.POST.get("which") if request.method == "POST" else None
    if which in forms_:
        cls = type(forms_[which])
        extra = {"registrants": sel.registrants_for(user=user)} if which == "location" else {}
        form = cls(request.POST, prefix=which, **extra)
        forms_[which] = form
        if form.is_valid():
            save = {"registrant": services.registrant_save, "location": services.location_save,
                    "supplier": services.supplier_save, "product": services.product_save}[which]
            try:
                save(actor=user, **form.cleaned_data)
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"Saved the {which}.")
                return redirect("ledger:setup")
        status = 422
    audit_record(actor=user, action=AuditAction.LEDGER_VIEWED, data={"page": "setup"})
    context = {"forms": forms_, "registrants": sel.registrants_for(user=user),
               "locations": sel.locations_for(user=user), "products": sel.products_for(user=user),
               "suppliers": sel.suppliers_for(user=user)}
    return render(request, "ledger/setup.html", context, status=status)


@requires(Perm.LEDGER_MANAGE)
def receive(request):
    """Containers in from a supplier, with lot, expiry and the invoice (§4 item 3)."""
    from ketacare.ledger import forms as lf

    user = request.user
    kwargs = {"products": sel.products_for(user=user), "suppliers": sel.suppliers_for(user=user),
              "locations": sel.locations_for(user=user)}
    form = lf.ReceiveForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            services.ledger_receive(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Receipt recorded.")
            return redirect("ledger:stock")
    if request.method == "GET":
        audit_record(actor=user, action=AuditAction.LEDGER_VIEWED, data={"page": "receive"})
    return render(request, "ledger/receive.html", {"form": form}, status=422 if form.errors else 200)


# ---- Counts and investigations -----------------------------------------------------------------------------------

@requires(Perm.LEDGER_MANAGE)
def count(request, location_id: int):
    """A physical count of one location: every lot's amount, at opening or close of business (§5)."""
    location = sel.locations_for(user=request.user).filter(pk=location_id).first()
    if location is None:
        raise services.LedgerNotFound()
    balances = list(StockBalance.objects.filter(location=location).select_related("lot__product")
                    .order_by("lot__product__name", "lot__expires_on"))
    errors: list[str] = []
    if request.method == "POST":
        counted = {b.lot_id: request.POST.get(f"lot-{b.lot_id}", "").strip() for b in balances}
        counted = {k: v for k, v in counted.items() if v != ""}
        try:
            _, opened = services.ledger_count(actor=request.user, location=location, counted=counted,
                                              time_of_day=request.POST.get("time_of_day", ""),
                                              kind=request.POST.get("kind") or "routine")
        except ValidationError as exc:
            errors = exc.messages
        except DomainError as exc:
            errors = [str(exc)]
        else:
            if opened:
                messages.warning(request, f"The count disagrees with the ledger for {len(opened)} lot(s): "
                                          "an investigation is open.")
                return redirect("ledger:discrepancies")
            messages.success(request, "Count recorded: it matches the ledger.")
            return redirect("ledger:stock")
    else:
        audit_record(actor=request.user, action=AuditAction.LEDGER_VIEWED, data={"page": "count",
                                                                                 "location": location.pk})
    return render(request, "ledger/count.html", {"location": location, "balances": balances, "errors": errors,
                                                 "posted": request.POST}, status=422 if errors else 200)


@requires(Perm.LEDGER_MANAGE)
def discrepancies(request):
    rows = list(sel.discrepancies_for(user=request.user).select_related("entry__actor", "classified_by",
                                                                       "resolved_by"))
    audit_record(actor=request.user, action=AuditAction.LEDGER_VIEWED, data={"page": "discrepancies",
                                                                             "rows": len(rows)})
    return render(request, "ledger/discrepancies.html", {"rows": rows, "today": clock.today()})


@require_POST
@requires(Perm.LEDGER_MANAGE)
def discrepancy_act(request, discrepancy_id: int):
    """Classify, record the DEA filings of, or resolve one investigation."""
    d = sel.discrepancies_for(user=request.user).filter(pk=discrepancy_id).first()
    if d is None:
        raise services.LedgerNotFound()
    action = request.POST.get("action")
    try:
        if action == "classify":
            services.discrepancy_classify(actor=request.user, discrepancy=d,
                                          classification=request.POST.get("classification", ""))
        elif action == "filing":
            from django.utils.dateparse import parse_date

            services.discrepancy_record_filing(
                actor=request.user, discrepancy=d,
                notice_sent_on=parse_date(request.POST.get("notice_sent_on") or "") or None,
                form106_filed_on=parse_date(request.POST.get("form106_filed_on") or "") or None)
        elif action == "resolve":
            services.discrepancy_resolve(actor=request.user, discrepancy=d, reason=request.POST.get("reason", ""))
        else:
            raise ValidationError("Unknown action.")
    except (DomainError, ValidationError, ValueError) as exc:
        _refused(request, exc)
    return redirect(reverse("ledger:discrepancies") + f"#discrepancy-{d.pk}")


@requires(Perm.LEDGER_MANAGE)
def signals(request):
    """Misuse signals: waste share per staff member against peers, and draws with nothing administered."""
    import datetime as dt

    from ketacare.ledger.domain.signals import signals as compute

    since = clock.now() - dt.timedelta(days=90)
    uses, names = sel.staff_use_for(user=request.user, since=since)
    by_id = {u.staff_id: u for u in uses}
    rows = [{"signal": s, "use": by_id[s.staff_id], "name": names[s.staff_id]} for s in compute(uses)]
    audit_record(actor=request.user, action=AuditAction.LEDGER_VIEWED, data={"page": "signals", "rows": len(rows)})
    return render(request, "ledger/signals.html", {"rows": rows, "since": since})


# ---- Other movements and corrections -------------------------------------------------------------------------

MOVEMENTS = ("transfer", "breakage", "loss", "destroy", "reverse")


@requires(Perm.LEDGER_VIEW)
def movements(request):
    """Transfers, breakage, losses, destruction (Form 41, two witnesses) and corrections, with the latest entries.
    Each is refused by its service unless the user's role may record it."""

    user = request.user
    if request.method == "POST":
        which = request.POST.get("which")
        post = request.POST
        try:
            if which not in MOVEMENTS:
                raise ValidationError("Unknown movement.")
            if which == "reverse":
                entry = LedgerEntry.objects.filter(clinic_id=user.clinic_id, pk=post.get("entry") or 0).first()
                if entry is None:
                    raise services.LedgerNotFound()
                services.ledger_reverse(actor=user, entry=entry, reason=post.get("reason", ""))
            else:
                lot = sel.lots_for(user=user).filter(pk=post.get("lot") or 0).first()
                location = sel.locations_for(user=user).filter(pk=post.get("location") or 0).first()
                if lot is None or location is None:
                    raise ValidationError("Choose the lot and the location.")
                quantity = post.get("quantity", "")
                if which == "transfer":
                    destination = sel.locations_for(user=user).filter(pk=post.get("destination") or 0).first()
                    if destination is None:
                        raise ValidationError("Choose where it goes.")
                    services.ledger_transfer(actor=user, lot=lot, source=location, destination=destination,
                                             quantity=quantity)
                elif which == "breakage":
                    services.ledger_breakage(actor=user, lot=lot, location=location, quantity=quantity,
                                             note=post.get("note", ""))
                elif which == "loss":
                    services.ledger_loss(actor=user, lot=lot, location=location, quantity=quantity,
                                         note=post.get("note", ""))
                else:
                    services.ledger_destroy(actor=user, lot=lot, location=location, quantity=quantity,
                                            method=post.get("method", ""), form41_ref=post.get("form41_ref", ""),
                                            witnesses=[(post.get("witness1_username", ""),
                                                        post.get("witness1_password", "")),
                                                       (post.get("witness2_username", ""),
                                                        post.get("witness2_password", ""))])
        except (DomainError, ValidationError) as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"Recorded: {which}.")
        return redirect("ledger:movements")
    entries = list(LedgerEntry.objects.filter(clinic_id=user.clinic_id)
                   .select_related("lot__product", "location", "actor", "witness")
                   .order_by("-at", "-id")[:60])
    corrected = set(LedgerEntry.objects.filter(corrects_id__in=[e.pk for e in entries])
                    .values_list("corrects_id", flat=True))
    audit_record(actor=user, action=AuditAction.LEDGER_VIEWED, data={"page": "movements", "rows": len(entries)})
    return render(request, "ledger/movements.html", {
        "entries": entries, "corrected": corrected, "balances": sel.balances_for(user=user).filter(on_hand__gt=0),
        "lots": sel.lots_for(user=user), "locations": sel.locations_for(user=user),
        "can_record": user.has_perm_to(Perm.LEDGER_RECORD), "can_manage": user.has_perm_to(Perm.LEDGER_MANAGE),
    })


@requires(Perm.LEDGER_MANAGE)
def report(request, name: str):
    """Inventory, discrepancy, destruction and loss reports, on screen or as CSV; kept at least as long as the
    jurisdiction requires (§3: 2 years federally)."""
    from ketacare.ledger import reports

    if name not in reports.OTHER_REPORTS:
        raise services.LedgerNotFound("No such report.")
    cols, rows = reports.report_rows(user=request.user, name=name)
    fmt = request.GET.get("format", "")
    audit_record(actor=request.user, action=AuditAction.LEDGER_REPORT_EXPORTED if fmt else AuditAction.LEDGER_VIEWED,
                 data={"report": name, "format": fmt or "html", "rows": len(rows)})
    if fmt == "csv":
        response = HttpResponse(reports.rows_to_csv(cols, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="ledger-{name}.csv"'
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "ledger/report.html", {
        "name": name, "title": reports.OTHER_REPORTS[name], "reports": reports.OTHER_REPORTS,
        "cols": cols, "table": [[row[c] for c in cols] for row in rows],
        "retention_years": sel.profile_for(request.user.clinic_id).retention_years})


PROFILE_FIELDS = ("notice_business_days", "form106_days", "inventory_interval_days", "retention_years",
                  "expiry_warning_days", "count_tolerance_ml")


@requires(Perm.LEDGER_MANAGE)
def settings_page(request):
    """The clinic's jurisdiction profile: a preset and the values it tightens, saved as a revision with a reason."""
    from ketacare.ledger.domain.clocks import BOUNDS, PRESETS

    user = request.user
    errors: list[str] = []
    if request.method == "POST":
        preset = request.POST.get("preset", "federal")
        overrides: dict = {k: request.POST[k].strip() for k in PROFILE_FIELDS if request.POST.get(k, "").strip()}
        if request.POST.get("exact_counts") in ("on", "off"):
            overrides["exact_counts"] = request.POST["exact_counts"] == "on"
        try:
            services.ledger_configure(actor=user, preset=preset, overrides=overrides,
                                      reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, "Profile saved.")
            return redirect("ledger:settings")
    else:
        audit_record(actor=user, action=AuditAction.LEDGER_VIEWED, data={"page": "settings"})
    profile = sel.profile_for(user.clinic_id)
    return render(request, "ledger/settings.html", {
        "profile": profile, "current": sel.setting_current(user.clinic_id), "presets": list(PRESETS),
        "fields": [(k, k.replace("_", " ").capitalize(), getattr(profile, k), BOUNDS[k]) for k in PROFILE_FIELDS],
        "errors": errors},
        status=422 if errors else 200)
