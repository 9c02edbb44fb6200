"""Acceptance 7: the demo clinic has realistic stock, a month of entries that reconcile, one open discrepancy and
one expiring lot."""

import datetime as dt
from decimal import Decimal

import pytest

from ketacare.core import clock
from ketacare.ledger import selectors, services
from ketacare.ledger.domain.clocks import expiry_status
from ketacare.ledger.models import Count, Discrepancy, LedgerEntry, StockBalance

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from django.db import transaction

    from ketacare.seed.demo import seed_demo

    with django_db_blocker.unblock(), transaction.atomic():
        clinic, users = seed_demo(password="demo-test-password")
        yield clinic, {u.username: u for u in users}
        transaction.set_rollback(True)


def test_the_demo_clinic_has_stock_of_both_drugs(demo):
    clinic, _ = demo
    by_substance = {}
    for b in StockBalance.objects.filter(clinic=clinic).select_related("lot__product"):
        by_substance[b.lot.product.substance] = by_substance.get(b.lot.product.substance, Decimal(0)) + b.on_hand
    assert by_substance["ketamine"] > Decimal(20) and by_substance["esketamine"] >= 10


def test_a_month_of_entries_whose_balances_equal_their_sums(demo):
    clinic, _ = demo
    entries = LedgerEntry.objects.filter(clinic=clinic)
    first, last = entries.order_by("at").first().at, entries.order_by("-at").first().at
    assert (last - first) >= dt.timedelta(days=30)
    kinds = set(entries.values_list("kind", flat=True))
    assert {"receive", "draw", "administer", "waste", "transfer", "count", "breakage"} <= kinds
    assert entries.filter(kind="administer").count() >= 8
    for b in StockBalance.objects.filter(clinic=clinic):
        assert b.on_hand == selectors.entry_sum(lot_id=b.lot_id, location_id=b.location_id)


def test_every_draw_of_an_ended_session_is_reconciled_and_only_the_running_infusion_is_open(demo):
    clinic, _ = demo
    open_draws = []
    for draw in LedgerEntry.objects.filter(clinic=clinic, kind="draw").select_related("session"):
        if not services.draw_state(draw).reconciled:
            open_draws.append(draw)
    assert len(open_draws) == 1
    assert open_draws[0].session.state == "dosing" and open_draws[0].session.course.route == "iv"


def test_one_open_discrepancy_of_0_4_ml_and_one_expiring_lot(demo):
    clinic, _ = demo
    open_ones = Discrepancy.objects.filter(clinic=clinic, resolved_at__isnull=True)
    assert open_ones.count() == 1 and open_ones.get().difference == Decimal("-0.4")
    today = clock.today()
    statuses = [expiry_status(b.lot.expires_on, today) for b in
                StockBalance.objects.filter(clinic=clinic, on_hand__gt=0).select_related("lot")]
    assert statuses.count("expiring") >= 1 and "expired" not in statuses
    assert Count.objects.filter(clinic=clinic, kind="initial").exists()


def test_the_stock_page_shows_the_flags(demo, client):
    _, users = demo
    client.force_login(users["admin"])
    page = client.get("/ledger/").content.decode()
    assert "expiring soon" in page and "Open investigations" in page and "-0.4" in page
