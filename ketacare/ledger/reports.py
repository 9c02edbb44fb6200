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
        return self.entry.session.patient_id if self.entry.session_id else None


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
        patient = e.session.patient if e.session_id and e.kind == "administer" else None
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
