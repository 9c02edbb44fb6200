"""The controlled-substance steps on the session page (registered with treatment/links.py): draw from a lot the
nurse chooses (first-expiring suggested), record what was given, then waste the rest before a witness or return
unopened devices."""

from __future__ import annotations

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.accounts.roles import Perm
from ketacare.ledger import choices as c
from ketacare.ledger import services
from ketacare.ledger.domain.stock import ZERO, first_expiring
from ketacare.ledger.models import LedgerEntry, StockBalance


def draw_options(session) -> tuple[list[StockBalance], int | None]:
    """Balances a draw for this session may come from (its route's substance, in date, in stock), and the
    suggested one (the first to expire)."""
    substance = c.ROUTE_SUBSTANCE.get(session.course.route)
    if substance is None:
        return [], None
    today = timezone.localdate()
    balances = list(StockBalance.objects.filter(clinic_id=session.clinic_id, lot__product__substance=substance,
                                                lot__expires_on__gte=today, on_hand__gt=0, location__active=True)
                    .select_related("lot__product", "location").order_by("lot__expires_on", "pk"))
    suggested = first_expiring([(b.pk, b.lot.expires_on, b.on_hand) for b in balances])
    return balances, suggested


def session_draws(session) -> list[dict]:
    draws = (LedgerEntry.objects.filter(session_id=session.pk, kind="draw", corrects__isnull=True)
             .select_related("lot__product", "location", "actor").order_by("at", "id"))
    return [{"draw": d, "state": services.draw_state(d)} for d in draws]


def default_quantity(session) -> Decimal | None:
    from ketacare.treatment.selectors import current_order

    order = current_order(session)
    if order is None:
        return None
    return Decimal(order.device_count) if order.device_count else order.volume_ml


def _give_default(session, row) -> Decimal:
    """What to offer as given: the milligrams recorded as administered in the session, in the draw's unit, at most
    what is left of the draw."""
    draw, state = row["draw"], row["state"]
    mg = sum((a.mg for a in session.administrations.all()), ZERO)
    if mg <= ZERO:
        return state.outstanding
    units = (mg / draw.lot.product.mg_per_unit).quantize(Decimal("0.001"))
    return max(min(units - state.administered, state.outstanding), ZERO)


def session_panel(request, session) -> str:
    if not request.user.has_perm_to(Perm.LEDGER_VIEW) or session.course.route not in c.ROUTE_SUBSTANCE:
        return ""
    balances, suggested = draw_options(session)
    draws = session_draws(session)
    can_record = request.user.has_perm_to(Perm.LEDGER_RECORD) and not session.is_signed
    return render_to_string("ledger/session_panel.html", {
        "session": session, "draws": draws, "balances": balances, "suggested": suggested,
        "default_quantity": default_quantity(session), "can_record": can_record,
        "open_draws": [{**d, "give": _give_default(session, d)} for d in draws if d["state"].outstanding > ZERO],
        "administrations": list(session.administrations.all()) if can_record else [],
    }, request=request)


def suggested_lot_number(session) -> str:
    """The lot of the session's open draw, to prefill the administration's lot number (and so the REMS form)."""
    draw = (LedgerEntry.objects.filter(session_id=session.pk, kind="draw", corrects__isnull=True)
            .select_related("lot").order_by("-at", "-id").first())
    return draw.lot.lot_number if draw else ""


def dea_deadline_banner(request) -> list[dict]:
    """The clinic admin sees theft/significant-loss reports still owed to the DEA: the written notice (1 business
    day) and Form 106 (45 days), due within a week or overdue (controlled-substances.md §7). One query, cached."""
    import datetime as dt

    from django.db.models import Q
    from django.urls import reverse

    from ketacare.core import banners, clock
    from ketacare.ledger.models import Discrepancy

    user = request.user
    if not user.has_perm_to(Perm.LEDGER_MANAGE):
        return []
    soon = clock.today() + dt.timedelta(days=7)
    owed = banners.cached_count("ledger.dea_deadlines", user.clinic_id, lambda: Discrepancy.objects.filter(
        Q(notice_due_on__lte=soon, notice_sent_on__isnull=True)
        | Q(form106_due_on__lte=soon, form106_filed_on__isnull=True), clinic_id=user.clinic_id).count())
    if not owed:
        return []
    return [{"level": "danger", "count": owed, "url": reverse("ledger:discrepancies"),
             "text": f"{owed} theft or loss report{'s' if owed > 1 else ''} to the DEA due within a week or overdue "
                     "(written notice, Form 106)."}]
