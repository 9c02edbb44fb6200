"""The ledger's pages: setup, receive, count (acceptance 6 through the page), investigations, signals, and the
session's draw-and-waste steps, each audited; other clinics' rows are not found."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ketacare.accounts.models import LoginFailure
from ketacare.accounts.usernames import username_key
from ketacare.audit.models import AuditEvent
from ketacare.ledger import services
from ketacare.ledger.models import Discrepancy, LedgerEntry, Registrant, StockBalance
from ketacare.ledger.tests.factories import make_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def s():
    return make_stock()


def test_setup_refuses_a_malformed_dea_number_and_saves_a_good_one(client, s):
    client.force_login(s.admin)
    bad = client.post("/ledger/setup", {"which": "registrant", "registrant-name": "Annex",
                                        "registrant-address": "2 Elm St", "registrant-dea_number": "12345"})
    assert bad.status_code == 422 and "two letters and seven digits" in bad.content.decode()
    assert Registrant.objects.filter(clinic=s.clinic).count() == 1
    good = client.post("/ledger/setup", {"which": "registrant", "registrant-name": "Annex",
                                         "registrant-address": "2 Elm St", "registrant-dea_number": "FA7654321"})
    assert good.status_code == 302 and Registrant.objects.filter(clinic=s.clinic).count() == 2
    assert AuditEvent.objects.filter(action="ledger_setup_saved", actor=s.admin).count() >= 1


def test_a_receipt_through_the_page_adds_stock(client, s):
    client.force_login(s.admin)
    response = client.post("/ledger/receive", {
        "product": s.ketamine.pk, "supplier": s.supplier.pk, "location": s.cart.pk, "lot_number": "K-2002",
        "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(), "containers": 3,
        "invoice_ref": "INV-9"})
    assert response.status_code == 302
    assert StockBalance.objects.get(lot__lot_number="K-2002", location=s.cart).on_hand == Decimal(30)


def test_a_count_0_4_ml_short_on_the_page_opens_an_investigation_and_theft_shows_both_clocks(client, s):
    client.force_login(s.admin)
    page = client.get(f"/ledger/locations/{s.safe.pk}/count")
    assert page.status_code == 200 and "Counted lot K-1001" in page.content.decode()
    response = client.post(f"/ledger/locations/{s.safe.pk}/count", {
        "time_of_day": "close", f"lot-{s.ketamine_lot.pk}": "19.6", f"lot-{s.esketamine_lot.pk}": "6"})
    assert response.status_code == 302 and response["Location"] == "/ledger/discrepancies"
    d = Discrepancy.objects.get(clinic=s.clinic)
    assert d.difference == Decimal("-0.4")
    client.post(f"/ledger/discrepancies/{d.pk}", {"action": "classify", "classification": "theft"})
    d.refresh_from_db()
    page = client.get("/ledger/discrepancies").content.decode()
    assert f"DEA written notice due <strong>{d.notice_due_on:%a %Y-%m-%d}</strong>" in page
    assert f"DEA Form 106 due <strong>{d.form106_due_on:%a %Y-%m-%d}</strong>" in page
    client.post(f"/ledger/discrepancies/{d.pk}", {"action": "resolve", "reason": "Reported; police report 77"})
    d.refresh_from_db()
    assert not d.is_open and d.resolved_by == s.admin


def test_a_count_without_time_of_day_is_refused_and_writes_nothing(client, s):
    client.force_login(s.admin)
    response = client.post(f"/ledger/locations/{s.safe.pk}/count", {
        f"lot-{s.ketamine_lot.pk}": "20", f"lot-{s.esketamine_lot.pk}": "6"})
    assert response.status_code == 422 and "opening or close" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="count").exists()


def test_another_clinics_location_and_investigation_are_not_found(client, s):
    other = make_stock()
    _, opened = services.ledger_count(actor=other.admin, location=other.safe, time_of_day="close",
                                      counted={other.ketamine_lot.pk: "19", other.esketamine_lot.pk: "6"})
    client.force_login(s.admin)
    assert client.get(f"/ledger/locations/{other.safe.pk}/count").status_code == 404
    assert client.post(f"/ledger/discrepancies/{opened[0].pk}", {"action": "resolve", "reason": "x"}).status_code == 404


def test_the_session_steps_draw_give_and_waste_with_a_witness(client, s):
    session = s.session(state="dosing")
    client.force_login(s.nurse)
    page = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    balance = StockBalance.objects.get(lot=s.ketamine_lot, location=s.safe)
    assert f'value="{balance.pk}" selected' in page  # the first-expiring lot is suggested
    client.post(f"/ledger/sessions/{session.pk}/draw", {"balance": balance.pk, "quantity": "1"})
    draw = LedgerEntry.objects.get(kind="draw", session=session)
    client.post(f"/ledger/draws/{draw.pk}/settle", {"action": "administer", "quantity": "0.7"})
    wrong = client.post(f"/ledger/draws/{draw.pk}/settle", {
        "action": "waste", "quantity": "0.3", "method": "sink", "witness_username": s.witness.username,
        "witness_password": "nope"}, follow=True)
    assert "witness&#x27;s username or password is wrong" in wrong.content.decode()
    assert LoginFailure.objects.filter(username_key=username_key(s.witness.username)).count() == 1
    client.post(f"/ledger/draws/{draw.pk}/settle", {
        "action": "waste", "quantity": "0.3", "method": "sink", "witness_username": s.witness.username,
        "witness_password": s.password})
    assert services.draw_state(draw).reconciled
    page = client.get(f"/treatment/sessions/{session.pk}/").content.decode()
    assert "reconciled" in page


def test_the_signals_page_flags_draws_with_nothing_administered(client, s):
    session = s.session()
    draw = services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.ketamine_lot, location=s.safe,
                                quantity="1")
    services.ledger_waste(actor=s.nurse, draw=draw, quantity="1", method="sink", witness_username=s.witness.username,
                          witness_password=s.password)
    client.force_login(s.admin)
    page = client.get("/ledger/signals").content.decode()
    assert "1 draw(s) with nothing administered" in page
    assert AuditEvent.objects.filter(action="ledger_viewed", data__page="signals").exists()


def test_the_stock_page_shows_the_biennial_inventory_due_date(client, s):
    services.ledger_count(actor=s.admin, location=s.safe, time_of_day="opening", kind="biennial",
                          counted={s.ketamine_lot.pk: "20", s.esketamine_lot.pk: "6"})
    client.force_login(s.admin)
    page = client.get("/ledger/").content.decode()
    due = timezone.localdate() + dt.timedelta(days=730)
    assert f"inventory due <strong>{due:%a %Y-%m-%d}</strong>" in page


def test_movements_page_transfers_breaks_and_corrects_and_a_nurse_cannot_record_a_loss(client, s):
    client.force_login(s.nurse)
    client.post("/ledger/movements", {"which": "transfer", "lot": s.ketamine_lot.pk, "location": s.safe.pk,
                                      "destination": s.cart.pk, "quantity": "5"})
    assert StockBalance.objects.get(lot=s.ketamine_lot, location=s.cart).on_hand == Decimal(5)
    client.post("/ledger/movements", {"which": "breakage", "lot": s.ketamine_lot.pk, "location": s.cart.pk,
                                      "quantity": "1", "note": "dropped"})
    breakage = LedgerEntry.objects.get(kind="breakage")
    refused = client.post("/ledger/movements", {"which": "loss", "lot": s.ketamine_lot.pk, "location": s.cart.pk,
                                                "quantity": "1", "note": "gone"}, follow=True)
    assert "You do not have permission" in refused.content.decode()
    assert not LedgerEntry.objects.filter(kind="loss").exists()
    client.post("/ledger/movements", {"which": "reverse", "entry": breakage.pk, "reason": "wrong vial"})
    assert StockBalance.objects.get(lot=s.ketamine_lot, location=s.cart).on_hand == Decimal(5)
    page = client.get("/ledger/movements").content.decode()
    assert f"corrects #{breakage.pk}" in page


def test_destruction_on_the_page_needs_two_witness_passwords(client, s):
    second = s.prescriber
    client.force_login(s.admin)
    data = {"which": "destroy", "lot": s.esketamine_lot.pk, "location": s.safe.pk, "quantity": "2",
            "method": "reverse distributor", "form41_ref": "F41-7", "witness1_username": s.witness.username,
            "witness1_password": s.password, "witness2_username": second.username, "witness2_password": "wrong"}
    client.post("/ledger/movements", data)
    assert not LedgerEntry.objects.filter(kind="destroy").exists()
    client.post("/ledger/movements", {**data, "witness2_password": s.password})
    entry = LedgerEntry.objects.get(kind="destroy")
    assert (entry.witness, entry.witness2, entry.form41_ref) == (s.witness, second, "F41-7")
    assert StockBalance.objects.get(lot=s.esketamine_lot, location=s.safe).on_hand == Decimal(4)


@pytest.mark.parametrize("name", ["inventory", "discrepancies", "destruction", "losses"])
def test_each_report_lists_its_records_on_screen_and_as_csv(client, s, name):
    services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close",
                          counted={s.ketamine_lot.pk: "19.6", s.esketamine_lot.pk: "6"})
    services.ledger_loss(actor=s.admin, lot=s.esketamine_lot, location=s.safe, quantity=1, note="missing at count")
    services.ledger_destroy(actor=s.admin, lot=s.esketamine_lot, location=s.safe, quantity=1, method="incinerated",
                            form41_ref="F41-3", witnesses=[(s.witness.username, s.password),
                                                           (s.prescriber.username, s.password)])
    expected = {"inventory": "19.6", "discrepancies": "-0.4", "destruction": "F41-3", "losses": "missing at count"}
    client.force_login(s.admin)
    assert expected[name] in client.get(f"/ledger/reports/{name}").content.decode()
    csv_text = client.get(f"/ledger/reports/{name}?format=csv").content.decode()
    assert expected[name] in csv_text
    assert AuditEvent.objects.filter(action="ledger_report_exported", data__report=name).exists()


def test_the_admin_sees_a_banner_until_the_dea_reports_are_filed(client, s):
    _, opened = services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close",
                                      counted={s.ketamine_lot.pk: "19.6", s.esketamine_lot.pk: "6"})
    client.force_login(s.admin)
    assert "report to the DEA" not in client.get("/ledger/").content.decode()
    d = services.discrepancy_classify(actor=s.admin, discrepancy=opened[0], classification="theft")
    assert "1 theft or loss report to the DEA due" in client.get("/ledger/").content.decode()
    client.force_login(s.nurse)
    assert "report to the DEA" not in client.get("/ledger/").content.decode()  # the admin's task, not the nurse's
    client.force_login(s.admin)
    services.discrepancy_record_filing(actor=s.admin, discrepancy=d, notice_sent_on=d.notice_due_on,
                                       form106_filed_on=d.discovered_on + dt.timedelta(days=10))
    assert "report to the DEA" not in client.get("/ledger/").content.decode()


def test_the_profile_page_saves_a_revision_and_refuses_a_looser_rule(client, s):
    client.force_login(s.admin)
    bad = client.post("/ledger/settings", {"preset": "federal", "retention_years": "1", "reason": "try"})
    assert bad.status_code == 422 and "Retention years must be between 2 and 30" in bad.content.decode()
    ok = client.post("/ledger/settings", {"preset": "nebraska", "reason": "Nebraska 28-410"})
    assert ok.status_code == 302
    assert "retained at least 5 years" in client.get("/ledger/reports/inventory").content.decode()
