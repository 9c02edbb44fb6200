"""Reads of the ledger, scoped to the user's clinic."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from ketacare.ledger.domain.stock import ZERO
from ketacare.ledger.models import Discrepancy, LedgerEntry, Lot, Product, Registrant, StockBalance, StorageLocation


def sessions_with_unreconciled_draws(session_ids: list[int]) -> set[int]:
    """Of these sessions, those with a draw not yet fully administered, wasted or returned (three queries)."""
    if not session_ids:
        return set()
    drawn: dict[int, Decimal] = defaultdict(lambda: ZERO)
    settled: dict[int, Decimal] = defaultdict(lambda: ZERO)
    draws = LedgerEntry.objects.filter(session_id__in=session_ids, kind="draw")
    for session_id, quantity in draws.values_list("session_id", "quantity"):
        drawn[session_id] += quantity
    rows = LedgerEntry.objects.filter(session_id__in=session_ids, kind__in=["administer", "waste", "return"])
    for session_id, quantity in rows.values_list("session_id", "quantity"):
        settled[session_id] += quantity
    return {sid for sid in drawn if drawn[sid] != settled[sid]}


def balances_for(*, user):
    return (StockBalance.objects.filter(clinic_id=user.clinic_id)
            .select_related("lot__product", "location").order_by("lot__product__name", "lot__expires_on", "location"))


def lots_for(*, user):
    return Lot.objects.filter(clinic_id=user.clinic_id).select_related("product")


def locations_for(*, user):
    return StorageLocation.objects.filter(clinic_id=user.clinic_id).select_related("registrant")


def products_for(*, user):
    return Product.objects.filter(clinic_id=user.clinic_id)


def registrants_for(*, user):
    return Registrant.objects.filter(clinic_id=user.clinic_id)


def discrepancies_for(*, user):
    return Discrepancy.objects.filter(clinic_id=user.clinic_id).select_related("lot__product", "location")


def entry_sum(*, lot_id: int, location_id: int) -> Decimal:
    """The balance recomputed from the entries (the check on the running balance)."""
    total = LedgerEntry.objects.filter(lot_id=lot_id, location_id=location_id).aggregate(t=Sum("stock_delta"))["t"]
    return total or ZERO
