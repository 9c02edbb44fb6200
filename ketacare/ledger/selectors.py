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


def staff_use_for(*, user, since) -> tuple[list, dict[int, str]]:
    """Per staff member who drew since `since`: draws, milligrams drawn, wastes and milligrams wasted of their
    draws, and draws that ended with nothing administered (reversed draws left out). With the staff names."""
    from ketacare.ledger.domain.signals import StaffUse

    draws = {d.pk: d for d in LedgerEntry.objects.filter(clinic_id=user.clinic_id, kind="draw", corrects__isnull=True,
                                                         at__gte=since).select_related("actor", "session")}
    reversed_ids = set(LedgerEntry.objects.filter(corrects_id__in=list(draws)).values_list("corrects_id", flat=True))
    settled: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    wastes: dict[int, int] = defaultdict(int)
    for draw_id, kind, mg, is_reversal in (LedgerEntry.objects.filter(draw_id__in=list(draws))
                                           .values_list("draw_id", "kind", "quantity_mg", "corrects_id")):
        settled[draw_id][kind] += mg
        if kind == "waste" and is_reversal is None:
            wastes[draw_id] += 1
    per: dict[int, dict] = {}
    names: dict[int, str] = {}
    for pk, d in draws.items():
        if pk in reversed_ids:
            continue
        row = per.setdefault(d.actor_id, {"draws": 0, "drawn": ZERO, "wastes": 0, "wasted": ZERO, "none": 0})
        names[d.actor_id] = d.actor.get_full_name() or d.actor.username
        row["draws"] += 1
        row["drawn"] += d.quantity_mg
        row["wastes"] += wastes[pk]
        row["wasted"] += settled[pk]["waste"]
        ended = d.session.state in ("discharged", "cancelled", "held", "escalated") if d.session is not None else True
        if settled[pk]["administer"] == ZERO and (ended or settled[pk]["waste"] + settled[pk]["return"] > ZERO):
            row["none"] += 1
    uses = [StaffUse(staff_id=k, draws=v["draws"], drawn=v["drawn"], wastes=v["wastes"], wasted=v["wasted"],
                     draws_without_administration=v["none"]) for k, v in per.items()]
    return uses, names


def suppliers_for(*, user):
    from ketacare.ledger.models import Supplier

    return Supplier.objects.filter(clinic_id=user.clinic_id)


def last_inventory_for(*, user):
    """The newest initial or biennial inventory (§5)."""
    from ketacare.ledger.models import Count

    return (Count.objects.filter(clinic_id=user.clinic_id, kind__in=["initial", "biennial"])
            .order_by("-counted_at").first())


def first_dispensing_on(*, user):
    first = (LedgerEntry.objects.filter(clinic_id=user.clinic_id, kind="administer").order_by("at")
             .values_list("at", flat=True).first())
    from django.utils import timezone

    return timezone.localdate(first) if first else None


def profile_for(clinic_id: int):
    """The jurisdiction profile in force: the newest revision of the clinic's setting, or the federal one."""
    from ketacare.ledger.domain.clocks import FEDERAL, profile_from
    from ketacare.ledger.models import LedgerSetting

    row = LedgerSetting.objects.filter(clinic_id=clinic_id).order_by("-revision").first()
    return profile_from(row.preset, row.overrides) if row else FEDERAL


def setting_current(clinic_id: int):
    from ketacare.ledger.models import LedgerSetting

    return LedgerSetting.objects.filter(clinic_id=clinic_id).order_by("-revision").first()
