"""The dispensing and administration log an inspector expects, per product and lot (controlled-substances.md §4:
the 21 CFR 1304.22(c) elements): substance, finished form and container; containers received with the supplier's
name, address and DEA number; each administration with the patient's name and address, date, quantity and who gave
it; each other disposal with date, manner, quantity and witnesses."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from ketacare.ledger.domain.stock import fmt
from ketacare.ledger.models import LedgerEntry, Product

LOGGED = ["receive", "draw", "administer", "waste", "return", "transfer", "destroy", "breakage", "loss"]
COLUMNS = ["date", "time", "entry", "kind", "substance", "form", "container", "ndc", "lot", "expires", "location",
           "quantity", "unit", "mg", "balance_after", "patient", "patient_address", "by", "witness", "witness_2",
           "supplier", "supplier_address", "supplier_dea", "containers", "invoice", "manner", "corrects"]


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


@dataclass(frozen=True)
class LogRow:
    entry: LedgerEntry
    values: dict

    @property
    def patient_id(self) -> int | None:
        return self.entry.session.patient_id if self.entry.session is not None else None


def dispensing_log(*, user, product_id: int | None = None, lot_id: int | None = None) -> list[LogRow]:
    """Every movement of the clinic's stock, oldest first, with the 1304.22(c) elements."""
    entries = (LedgerEntry.objects.filter(clinic_id=user.clinic_id, kind__in=LOGGED)
               .select_related("lot__product", "location", "actor", "witness", "witness2", "supplier",
                               "session__patient")
               .order_by("lot__product__name", "lot__lot_number", "at", "id"))
    if product_id:
        entries = entries.filter(lot__product_id=product_id)
    if lot_id:
        entries = entries.filter(lot_id=lot_id)
    rows = []
    for e in entries:
        product: Product = e.lot.product
        patient = e.session.patient if e.session is not None and e.kind == "administer" else None
        at = timezone.localtime(e.at)
        rows.append(LogRow(e, {
            "date": at.date().isoformat(), "time": at.strftime("%H:%M"), "entry": e.pk, "kind": e.kind,
            "substance": product.get_substance_display(), "form": product.form,
            "container": f"{fmt(product.units_per_container)} {product.get_unit_display()}"
                         f" @ {fmt(product.mg_per_unit)} mg/{product.get_unit_display()}",
            "ndc": product.ndc, "lot": e.lot.lot_number, "expires": e.lot.expires_on.isoformat(),
            "location": e.location.name, "quantity": fmt(e.quantity), "unit": product.get_unit_display(),
            "mg": fmt(e.quantity_mg), "balance_after": fmt(e.balance_after),
            "patient": patient.full_name if patient else "",
            "patient_address": ", ".join(x for x in (patient.address_line, patient.city, patient.state,
                                                     patient.postal_code) if x) if patient else "",
            "by": _person(e.actor), "witness": _person(e.witness), "witness_2": _person(e.witness2),
            "supplier": e.supplier.name if e.supplier else "",
            "supplier_address": e.supplier.address.replace("\n", ", ") if e.supplier else "",
            "supplier_dea": e.supplier.dea_number if e.supplier else "",
            "containers": e.containers or "", "invoice": e.invoice_ref, "manner": e.method or e.note,
            "corrects": e.corrects_id or "",
            "group": f"{product.get_substance_display()} · {product.form} · {fmt(product.units_per_container)} "
                     f"{product.get_unit_display()} container at {fmt(product.mg_per_unit)} mg/"
                     f"{product.get_unit_display()} · NDC {product.ndc} · lot {e.lot.lot_number} "
                     f"(expires {e.lot.expires_on.isoformat()})",
        }))
    return rows


def to_csv(rows: list[LogRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writerow({k: k.replace("_", " ").replace("dea", "DEA") for k in COLUMNS})
    for row in rows:
        writer.writerow({k: _safe(v) for k, v in row.values.items()})
    return out.getvalue()


def _safe(value) -> str:
    """Spreadsheet-safe text: a cell never starts with a formula character."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


OTHER_REPORTS = {
    "inventory": "Inventories and counts (21 CFR 1304.11)",
    "discrepancies": "Discrepancies and investigations",
    "destruction": "Destruction (Form 41 data)",
    "losses": "Losses, thefts and breakage",
}


def report_rows(*, user, name: str) -> tuple[list[str], list[dict]]:
    """The columns and rows of one of OTHER_REPORTS, for the user's clinic, oldest first."""
    from ketacare.ledger.models import Discrepancy

    if name == "inventory":
        entries = (LedgerEntry.objects.filter(clinic_id=user.clinic_id, kind="count")
                   .select_related("count__counted_by", "lot__product", "location").order_by("at", "id"))
        cols = ["date", "time_of_day", "kind", "location", "product", "ndc", "lot", "expires", "counted", "unit",
                "ledger_balance", "counted_by"]
        return cols, [{"date": timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
                       "time_of_day": e.count.get_time_of_day_display() if e.count is not None else "",
                       "kind": e.count.get_kind_display() if e.count is not None else "", "location": e.location.name,
                       "product": e.lot.product.name, "ndc": e.lot.product.ndc, "lot": e.lot.lot_number,
                       "expires": e.lot.expires_on.isoformat(),
                       "counted": fmt(e.counted) if e.counted is not None else "",
                       "unit": e.lot.product.get_unit_display(), "ledger_balance": fmt(e.balance_after),
                       "counted_by": _person(e.actor)} for e in entries]
    if name == "discrepancies":
        rows = (Discrepancy.objects.filter(clinic_id=user.clinic_id)
                .select_related("lot__product", "location", "resolved_by").order_by("opened_at", "id"))
        cols = ["opened", "location", "product", "lot", "expected", "counted", "difference", "finding",
                "notice_due_on", "notice_sent_on", "form106_due_on", "form106_filed_on", "resolved", "resolution"]
        return cols, [{"opened": timezone.localtime(d.opened_at).strftime("%Y-%m-%d %H:%M"),
                       "location": d.location.name, "product": d.lot.product.name, "lot": d.lot.lot_number,
                       "expected": fmt(d.expected), "counted": fmt(d.counted), "difference": fmt(d.difference),
                       "finding": d.get_classification_display() if d.classification else "open",
                       "notice_due_on": d.notice_due_on or "", "notice_sent_on": d.notice_sent_on or "",
                       "form106_due_on": d.form106_due_on or "", "form106_filed_on": d.form106_filed_on or "",
                       "resolved": timezone.localtime(d.resolved_at).strftime("%Y-%m-%d") if d.resolved_at else "",
                       "resolution": d.resolution} for d in rows]
    kinds = {"destruction": ["destroy"], "losses": ["loss", "breakage"]}.get(name)
    if kinds is None:
        raise KeyError(name)
    cols = ["date", "kind", "location", "product", "ndc", "strength", "lot", "quantity", "unit", "mg", "manner",
            "form41_ref", "by", "witness", "witness_2", "corrects"]
    entries = (LedgerEntry.objects.filter(clinic_id=user.clinic_id, kind__in=kinds)
               .select_related("lot__product", "location", "actor", "witness", "witness2").order_by("at", "id"))
    return cols, [{"date": timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"), "kind": e.kind,
                   "location": e.location.name, "product": e.lot.product.name, "ndc": e.lot.product.ndc,
                   "strength": f"{fmt(e.lot.product.mg_per_unit)} mg/{e.lot.product.get_unit_display()}",
                   "lot": e.lot.lot_number, "quantity": fmt(e.quantity), "unit": e.lot.product.get_unit_display(),
                   "mg": fmt(e.quantity_mg), "manner": e.method or e.note, "form41_ref": e.form41_ref,
                   "by": _person(e.actor), "witness": _person(e.witness), "witness_2": _person(e.witness2),
                   "corrects": e.corrects_id or ""} for e in entries]


def rows_to_csv(cols: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.replace("_", " ") for c in cols])
    for row in rows:
        writer.writerow([_safe(row[c]) for c in cols])
    return out.getvalue()
