"""Acceptance 2: 20 concurrent draws against a lot that can satisfy only some of them. On PostgreSQL, each thread
with its own connection; the balance row is locked by every draw, so the successful ones fit the stock exactly, the
rest fail with a clear error, and nothing else changes. PostgreSQL only: SQLite has one writer at a time, so
threads there would only take turns and prove nothing."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from ketacare.audit.models import AuditEvent
from ketacare.ledger import services
from ketacare.ledger.models import LedgerEntry, Lot, StockBalance, StorageLocation
from ketacare.ledger.tests.factories import make_stock

THREADS = 20


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (SQLite has one "
                    "writer at a time); this test runs in the PostgreSQL pass")
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_draws_never_take_more_than_the_stock():
    s = make_stock(vials=1, devices=0)  # 10 mL on hand; each draw wants 1.5 mL: 6 fit, 14 must fail
    sessions = [s.session() for _ in range(THREADS)]
    audits_before = AuditEvent.objects.count()
    barrier = threading.Barrier(THREADS)
    ok: list[int] = []
    refused: list[str] = []
    unexpected: list[Exception] = []

    def draw(session_id):
        try:
            lot = Lot.objects.select_related("product").get(pk=s.ketamine_lot.pk)
            location = StorageLocation.objects.get(pk=s.safe.pk)
            barrier.wait(timeout=30)
            entry = services.ledger_draw(actor=s.nurse, session_id=session_id, lot=lot, location=location,
                                         quantity="1.5")
            ok.append(entry.pk)
        except services.InsufficientStock as exc:
            refused.append(str(exc))
        except Exception as exc:  # surfaced in the main thread
            unexpected.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=draw, args=(session.pk,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert len(ok) == 6 and len(refused) == THREADS - 6
    assert all("Only 1 mL on hand; 1.5 mL cannot be taken" in text for text in refused)
    balance = StockBalance.objects.get(lot=s.ketamine_lot, location=s.safe)
    assert balance.on_hand == Decimal(1)
    draws = LedgerEntry.objects.filter(kind="draw").order_by("balance_after")
    assert draws.count() == 6
    # Each successful draw saw the balance the one before it left: 8.5, 7, 5.5, 4, 2.5, 1.
    assert sorted(draws.values_list("balance_after", flat=True)) == [Decimal(x) for x in
                                                                     ("1", "2.5", "4", "5.5", "7", "8.5")]
    assert AuditEvent.objects.count() - audits_before == 6  # the refused draws wrote nothing
