"""Demo data for the controlled-substance ledger (synthetic): the registrant and its stock, a month of entries that
reconcile, today's running infusion with its draw still open, one count that came up 0.4 mL short (an open
investigation) and one ketamine lot expiring within weeks. Recorded through the ledger's services with the clock set
to when it happened (the waste witness is confirmed directly: the seeder knows no passwords). Idempotent: nothing is
done when the clinic already has a registrant."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_UP, Decimal

from django.db import transaction

from ketacare.audit.models import AuditAction
from ketacare.core import clock
from ketacare.ledger import services
from ketacare.ledger.domain.stock import ZERO, EntryKind
from ketacare.ledger.models import Lot, Registrant, StockBalance
from ketacare.seed.treatment import _as_of

KETAMINE_MG_PER_ML = Decimal(50)


def _draw_lot(product, location, quantity: Decimal, on: dt.date, *, lot_number: str = "") -> Lot | None:
    """The lot the administration names, if there is enough of it; else the first-expiring lot in date with enough
    stock at the location."""
    balances = (StockBalance.objects.filter(lot__product=product, location=location, on_hand__gte=quantity,
                                            lot__expires_on__gte=on).select_related("lot")
                .order_by("lot__expires_on", "pk"))
    balance = balances.filter(lot__lot_number=lot_number).first() or balances.first()
    return balance.lot if balance else None


@transaction.atomic
def seed_ledger(clinic, users, today) -> None:
    if Registrant.objects.filter(clinic=clinic).exists():
        return
    from ketacare.treatment.models import DosingSession

    admin, nurse, prescriber = users["admin"], users["nurse"], users["prescriber"]
    now = clock.now().replace(second=0, microsecond=0)
    start = now - dt.timedelta(days=35)
    with _as_of(start):
        registrant = services.registrant_save(actor=admin, name=clinic.name,
                                              address="100 Riverside Avenue, Boston MA 02115", dea_number="FR4567893")
        safe = services.location_save(actor=admin, registrant=registrant, name="Main safe", kind="safe")
        cart = services.location_save(actor=admin, registrant=registrant, name="Infusion room cart", kind="cart")
        supplier = services.supplier_save(actor=admin, name="Bay State Medical Distributors",
                                          address="40 Harbor Way, Chelsea MA 02150", dea_number="RB1234563")
        rems_distributor = services.supplier_save(actor=admin, name="Specialty REMS Distribution Co",
                                                  address="7 Commerce Park, Hartford CT 06101",
                                                  dea_number="RS7654329")
        ketamine = services.product_save(actor=admin, substance="ketamine", name="Ketamine HCl 50 mg/mL, 10 mL vial",
                                         ndc="0409-2051-05", form="injection solution, multi-dose vial", unit="ml",
                                         mg_per_unit=KETAMINE_MG_PER_ML, units_per_container=Decimal(10))
        esketamine = services.product_save(actor=admin, substance="esketamine", name="SPRAVATO 28 mg nasal device",
                                           ndc="50458-028-02", form="nasal spray, single-use device", unit="device",
                                           mg_per_unit=Decimal(28), units_per_container=Decimal(1))
        # The initial inventory: nothing on hand before the first receipt (§5: a zero inventory is recorded).
        services.ledger_count(actor=admin, location=safe, time_of_day="opening", kind="initial", counted={})
    with _as_of(start + dt.timedelta(hours=2)):
        services.ledger_receive(actor=admin, location=safe, product=ketamine, supplier=supplier, lot_number="KET-2511",
                                expires_on=today + dt.timedelta(days=24), containers=3, invoice_ref="BSM-88120")
        services.ledger_receive(actor=admin, location=safe, product=ketamine, supplier=supplier, lot_number="KET-2519",
                                expires_on=today + dt.timedelta(days=420), containers=6, invoice_ref="BSM-88120")
        services.ledger_receive(actor=admin, location=safe, product=esketamine, supplier=rems_distributor,
                                lot_number="JK45R21", expires_on=today + dt.timedelta(days=300), containers=28,
                                invoice_ref="SRD-20411")
    with _as_of(start + dt.timedelta(hours=3)):
        kl = Lot.objects.get(product=ketamine, lot_number="KET-2511")
        services.ledger_transfer(actor=nurse, lot=kl, source=safe, destination=cart, quantity=Decimal(20))
    with _as_of(start + dt.timedelta(days=16)):
        services.ledger_receive(actor=admin, location=safe, product=esketamine, supplier=rems_distributor,
                                lot_number="JK52T08", expires_on=today + dt.timedelta(days=380), containers=28,
                                invoice_ref="SRD-20577")
    with _as_of(start + dt.timedelta(days=28)):
        services.ledger_receive(actor=admin, location=safe, product=esketamine, supplier=rems_distributor,
                                lot_number="JK52T08", expires_on=today + dt.timedelta(days=380), containers=14,
                                invoice_ref="SRD-20702")
    with _as_of(start + dt.timedelta(days=20, hours=8)):
        services.ledger_breakage(actor=nurse, lot=kl, location=cart, quantity=Decimal("1.5"),
                                 note="Vial cracked when dropped while drawing up; spill wiped, glass in sharps bin.")

    count_at = now - dt.timedelta(hours=15)
    sessions = list(DosingSession.objects.filter(clinic=clinic, first_dose_at__gte=start + dt.timedelta(days=1))
                    .select_related("course").prefetch_related("administrations").order_by("first_dose_at", "pk"))
    before = [x for x in sessions if x.first_dose_at is not None and x.first_dose_at < count_at]
    _draws(before, nurse=nurse, witness=prescriber, safe=safe,
           cart=cart, ketamine=ketamine, esketamine=esketamine)
    # Yesterday's close-of-business count at the cart came up 0.4 mL short of KET-2519: an open investigation.
    k2 = Lot.objects.get(product=ketamine, lot_number="KET-2519")
    with _as_of(count_at - dt.timedelta(hours=3)):
        services.ledger_transfer(actor=nurse, lot=k2, source=safe, destination=cart, quantity=Decimal(10))
    with _as_of(count_at):
        counted = {b.lot_id: b.on_hand for b in StockBalance.objects.filter(location=cart)}
        counted[k2.pk] = counted[k2.pk] - Decimal("0.4")
        services.ledger_count(actor=admin, location=cart, time_of_day="close", counted=counted)
    _draws([x for x in sessions if x not in before], nurse=nurse, witness=prescriber, safe=safe,
           cart=cart, ketamine=ketamine, esketamine=esketamine)


def _draws(sessions, *, nurse, witness, safe, cart, ketamine, esketamine) -> None:
    """For each dosed session: the draw before the first dose, what was given, and the waste of the rest (IV).
    A running infusion keeps its draw open (the floor board flags it)."""
    for session in sessions:
        given = sorted(session.administrations.all(), key=lambda a: (a.given_at, a.pk))
        if not given:
            continue
        route = session.course.route
        first = given[0].given_at
        if route == "iv":
            mg = sum((a.mg for a in given), ZERO)
            ml = (mg / KETAMINE_MG_PER_ML).quantize(Decimal("0.1"), rounding=ROUND_UP)
            drawn = ml + Decimal("0.5")  # drawn up with a little over; the rest is wasted
            location, product = cart, ketamine
        elif route == "intranasal":
            drawn = ml = Decimal(len(given))
            location, product = safe, esketamine
        else:
            continue
        lot = _draw_lot(product, location, drawn, first.date(), lot_number=given[0].lot_number)
        if lot is None:
            continue
        with _as_of(first - dt.timedelta(minutes=5)):
            if session.state in ("discharged", "cancelled") or session.signed_at:
                # Back-filled after the treatment seeder closed the session: written as the service would have.
                now = clock.now()
                draw = services._post(actor=nurse, kind=EntryKind.DRAW, lot=lot, location=location, quantity=drawn,
                                      delta=-drawn, balance=services._locked_balance(lot, location), at=now, now=now,
                                      session=session)
                services._audit(nurse, AuditAction.LEDGER_RECORDED, draw)
            else:
                draw = services.ledger_draw(actor=nurse, session_id=session.pk, lot=lot, location=location,
                                            quantity=drawn)
        if route == "iv" and session.dose_completed_at is None:
            continue
        end = session.dose_completed_at or given[-1].given_at
        with _as_of(end + dt.timedelta(minutes=2)):
            if route == "intranasal":
                for a in given:
                    services.ledger_administer(actor=a.given_by, draw=draw, quantity=1, administration_id=a.pk)
                continue
            services.ledger_administer(actor=given[0].given_by, draw=draw, quantity=ml,
                                       administration_id=given[0].pk)
            with transaction.atomic():
                entry = services._settle(actor=nurse, draw=draw, kind=EntryKind.WASTE, quantity=drawn - ml, at=None,
                                         witness=witness, method="drug-waste container (chemical digestion)")
                services._audit(nurse, AuditAction.LEDGER_RECORDED, entry, witness=witness.username)
