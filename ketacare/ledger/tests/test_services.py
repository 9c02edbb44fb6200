"""The ledger's services: movements, witnessed waste (acceptance 3), counts and investigations (acceptance 6),
corrections, and the database's own refusals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketacare.accounts import throttle
from ketacare.accounts.models import LoginFailure
from ketacare.accounts.usernames import username_key
from ketacare.audit.models import AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.ledger import selectors, services
from ketacare.ledger.models import Discrepancy, LedgerEntry, StockBalance
from ketacare.ledger.tests.factories import make_stock
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def s():
    return make_stock()


def on_hand(lot, location) -> Decimal:
    return StockBalance.objects.get(lot=lot, location=location).on_hand


def test_a_receipt_records_the_supplier_containers_and_the_running_balance(s):
    assert on_hand(s.ketamine_lot, s.safe) == D(20)
    receipt = LedgerEntry.objects.get(lot=s.ketamine_lot, kind="receive")
    assert (receipt.containers, receipt.quantity, receipt.quantity_mg, receipt.supplier) == (2, D(20), D(1000),
                                                                                               s.supplier)
    assert AuditEvent.objects.filter(action="ledger_recorded", target_id=str(receipt.pk)).exists()


def test_a_draw_takes_stock_and_refuses_more_than_is_on_hand_changing_nothing(s):
    session = s.session()
    draw = services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.ketamine_lot, location=s.safe,
                                quantity="7")
    assert on_hand(s.ketamine_lot, s.safe) == D(13) and draw.balance_after == D(13)
    count = LedgerEntry.objects.count()
    with pytest.raises(services.InsufficientStock, match="Only 13 mL on hand"):
        services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.ketamine_lot, location=s.safe,
                             quantity="13.5")
    assert LedgerEntry.objects.count() == count and on_hand(s.ketamine_lot, s.safe) == D(13)


def test_a_draw_must_match_the_sessions_drug_and_a_clinic_admin_cannot_draw(s):
    with pytest.raises(services.LedgerRefused, match="takes Ketamine"):
        services.ledger_draw(actor=s.nurse, session_id=s.session().pk, lot=s.esketamine_lot, location=s.safe,
                             quantity=1)
    with pytest.raises(PermissionDenied):
        services.ledger_draw(actor=s.admin, session_id=s.session().pk, lot=s.ketamine_lot, location=s.safe,
                             quantity=1)
    with pytest.raises(ValidationError):
        services.ledger_draw(actor=s.nurse, session_id=s.session().pk, lot=s.ketamine_lot, location=s.safe,
                             quantity="-1")


def test_another_clinics_lot_is_not_found(s):
    other = make_stock()
    with pytest.raises(services.LedgerNotFound):
        services.ledger_draw(actor=s.nurse, session_id=s.session().pk, lot=other.ketamine_lot, location=other.safe,
                             quantity=1)


def _drawn(s, quantity="7"):
    session = s.session()
    draw = services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.ketamine_lot, location=s.safe,
                                quantity=quantity)
    services.ledger_administer(actor=s.nurse, draw=draw, quantity="6.6")
    return session, draw


# ---- Acceptance 3: witnessed waste -------------------------------------------------------------------------------

def test_a_waste_with_a_valid_second_person_is_recorded_and_reconciles_the_draw(s):
    session, draw = _drawn(s)
    waste = services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.4", method="drug-waste container",
                                  witness_username=s.witness.username, witness_password=s.password)
    assert waste.witness == s.witness and services.draw_state(draw).reconciled
    assert services.unreconciled_draws(session_id=session.pk) == []


def test_a_waste_without_a_witness_is_refused_and_nothing_is_written(s):
    _, draw = _drawn(s)
    before = LedgerEntry.objects.count()
    for username, password in [("", ""), (s.witness.username, "")]:
        with pytest.raises(services.WitnessRefused):
            services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.4", method="sink",
                                  witness_username=username, witness_password=password)
    assert LedgerEntry.objects.count() == before


def test_the_same_user_cannot_witness_their_own_waste_nor_the_one_who_drew(s):
    _, draw = _drawn(s)
    with pytest.raises(services.WitnessRefused, match="someone other"):
        services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.4", method="sink",
                              witness_username=s.nurse.username, witness_password=s.password)
    # A colleague wasting the nurse's draw cannot have the nurse (who drew) as witness either.
    with pytest.raises(services.WitnessRefused, match="someone other"):
        services.ledger_waste(actor=s.witness, draw=draw, quantity="0.4", method="sink",
                              witness_username=s.nurse.username, witness_password=s.password)
    assert not LedgerEntry.objects.filter(kind="waste").exists()


def test_a_wrong_witness_password_is_refused_and_counts_toward_that_users_lockout(s, settings):
    _, draw = _drawn(s)
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        with pytest.raises(services.WitnessRefused, match="wrong"):
            services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.4", method="sink",
                                  witness_username=s.witness.username, witness_password="not-the-password")
    assert LoginFailure.objects.filter(username_key=username_key(s.witness.username)).count() == 3
    assert throttle.login_locked(s.witness.username)
    assert AuditEvent.objects.filter(action="ledger_witness_failed").count() == 3
    # Locked out: even the right password is refused now, for waste and for signing in alike.
    with pytest.raises(services.WitnessRefused, match="locked out"):
        services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.4", method="sink",
                              witness_username=s.witness.username, witness_password=s.password)
    assert not LedgerEntry.objects.filter(kind="waste").exists()


def test_a_witness_needs_a_permitted_role_active_and_of_this_clinic(s):
    _, draw = _drawn(s)
    front_desk = UserFactory(role="front_desk", clinic=s.clinic)
    inactive = UserFactory(role="nurse", clinic=s.clinic, is_active=False)
    stranger = UserFactory(role="nurse")
    for user in (front_desk, inactive, stranger, s.admin):
        with pytest.raises(services.WitnessRefused, match="may not witness"):
            services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.4", method="sink",
                                  witness_username=user.username, witness_password=s.password)


def test_more_waste_than_is_left_of_the_draw_is_refused(s):
    _, draw = _drawn(s)
    with pytest.raises(services.LedgerRefused, match="Only 0.4 mL of this draw"):
        services.ledger_waste(actor=s.nurse, draw=draw, quantity="0.5", method="sink",
                              witness_username=s.witness.username, witness_password=s.password)


# ---- Returns, transfers, corrections -----------------------------------------------------------------------------

def test_unopened_devices_go_back_to_stock(s):
    session = s.session(route="intranasal")
    draw = services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.esketamine_lot, location=s.safe,
                                quantity=3)
    services.ledger_administer(actor=s.nurse, draw=draw, quantity=2)
    services.ledger_return(actor=s.nurse, draw=draw, quantity=1)
    assert on_hand(s.esketamine_lot, s.safe) == D(4) and services.draw_state(draw).reconciled
    with pytest.raises(ValidationError):
        services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.esketamine_lot, location=s.safe,
                             quantity="1.5")


def test_a_transfer_moves_stock_between_locations_and_refuses_more_than_there_is(s):
    services.ledger_transfer(actor=s.nurse, lot=s.ketamine_lot, source=s.safe, destination=s.cart, quantity=10)
    assert (on_hand(s.ketamine_lot, s.safe), on_hand(s.ketamine_lot, s.cart)) == (D(10), D(10))
    with pytest.raises(services.InsufficientStock):
        services.ledger_transfer(actor=s.nurse, lot=s.ketamine_lot, source=s.cart, destination=s.safe, quantity=11)
    assert selectors.entry_sum(lot_id=s.ketamine_lot.pk, location_id=s.cart.pk) == D(10)


def test_a_reversal_restores_the_balance_and_points_at_the_original(s):
    session = s.session()
    draw = services.ledger_draw(actor=s.nurse, session_id=session.pk, lot=s.ketamine_lot, location=s.safe,
                                quantity=5)
    reversal = services.ledger_reverse(actor=s.nurse, entry=draw, reason="wrong lot scanned")
    assert reversal.corrects == draw and reversal.quantity == D(-5)
    assert on_hand(s.ketamine_lot, s.safe) == D(20) and services.draw_state(draw).reconciled
    with pytest.raises(services.LedgerRefused, match="already corrected"):
        services.ledger_reverse(actor=s.nurse, entry=draw, reason="again")


def test_a_draw_with_administrations_cannot_be_reversed_until_they_are(s):
    _, draw = _drawn(s)
    with pytest.raises(services.LedgerRefused, match="6.6 of this draw"):
        services.ledger_reverse(actor=s.nurse, entry=draw, reason="oops")
    administered = draw.settlements.get(kind="administer")
    services.ledger_reverse(actor=s.nurse, entry=administered, reason="recorded twice")
    assert services.draw_state(draw).outstanding == D(7)
    services.ledger_reverse(actor=s.nurse, entry=draw, reason="not used")
    assert on_hand(s.ketamine_lot, s.safe) == D(20)


def test_destruction_needs_two_distinct_witnesses(s):
    second = UserFactory(role="prescriber", clinic=s.clinic)
    with pytest.raises(services.WitnessRefused):
        services.ledger_destroy(actor=s.admin, lot=s.ketamine_lot, location=s.safe, quantity=10, method="incinerated",
                                form41_ref="F41-1", witnesses=[(s.witness.username, s.password),
                                                               (s.witness.username, s.password)])
    entry = services.ledger_destroy(actor=s.admin, lot=s.ketamine_lot, location=s.safe, quantity=10,
                                    method="reverse distributor", form41_ref="F41-1",
                                    witnesses=[(s.witness.username, s.password), (second.username, s.password)])
    assert (entry.witness, entry.witness2) == (s.witness, second) and on_hand(s.ketamine_lot, s.safe) == D(10)


# ---- Acceptance 6: counts and investigations ---------------------------------------------------------------------

def test_a_count_matching_the_balance_opens_nothing(s):
    _, opened = services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close",
                                      counted={s.ketamine_lot.pk: "20", s.esketamine_lot.pk: "6"})
    assert opened == []


def test_a_count_0_4_ml_short_opens_an_investigation_and_marking_theft_starts_both_clocks(s):
    count, opened = services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close",
                                          counted={s.ketamine_lot.pk: "19.6", s.esketamine_lot.pk: "6"})
    assert len(opened) == 1
    d = opened[0]
    assert (d.expected, d.counted, d.difference, d.lot) == (D(20), D("19.6"), D("-0.4"), s.ketamine_lot)
    assert d.is_open and d.notice_due_on is None
    d = services.discrepancy_classify(actor=s.admin, discrepancy=d, classification="theft")
    discovered = timezone.localdate(d.opened_at)
    assert d.discovered_on == discovered
    assert d.form106_due_on == discovered + dt.timedelta(days=45)
    assert d.notice_due_on > discovered and d.notice_due_on.weekday() < 5
    assert (d.notice_due_on - discovered).days <= 3
    assert d.snapshot["difference"] == "-0.400" and len(d.snapshot["entries"]) >= 2
    with pytest.raises(services.LedgerRefused):
        services.discrepancy_classify(actor=s.admin, discrepancy=d, classification="explained")
    with pytest.raises(ValidationError):
        services.discrepancy_resolve(actor=s.admin, discrepancy=d, reason=" ")
    d = services.discrepancy_resolve(actor=s.admin, discrepancy=d, reason="Reported to DEA; police report 4411")
    assert not d.is_open


def test_a_count_must_cover_every_lot_and_say_opening_or_close(s):
    with pytest.raises(ValidationError, match="missing"):
        services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close", counted={s.ketamine_lot.pk: 20})
    with pytest.raises(ValidationError):
        services.ledger_count(actor=s.admin, location=s.safe, time_of_day="noon",
                              counted={s.ketamine_lot.pk: 20, s.esketamine_lot.pk: 6})
    with pytest.raises(PermissionDenied):
        services.ledger_count(actor=s.nurse, location=s.safe, time_of_day="close",
                              counted={s.ketamine_lot.pk: 20, s.esketamine_lot.pk: 6})


def test_a_reported_loss_lowers_the_balance_and_opens_an_investigation(s):
    d = services.ledger_loss(actor=s.admin, lot=s.esketamine_lot, location=s.safe, quantity=1,
                             note="device missing from the safe at opening")
    assert on_hand(s.esketamine_lot, s.safe) == D(5) and d.difference == D(-1)
    assert Discrepancy.objects.filter(resolved_at__isnull=True).count() == 1


# ---- The database's own refusals ---------------------------------------------------------------------------------

def _raw_entry(s, **fields):
    base = {"clinic_id": s.clinic.pk, "kind": "draw", "lot": s.ketamine_lot, "location": s.safe,
            "quantity": D(1), "quantity_mg": D(50), "stock_delta": D(-1), "balance_after": D(19),
            "at": timezone.now(), "recorded_at": timezone.now(), "actor": s.nurse, "session": s.session()}
    base.update(fields)
    return LedgerEntry.objects.create(**base)


@pytest.mark.parametrize(("fields", "constraint"), [
    ({"session": None}, "draw_is_for_a_session"),
    ({"kind": "waste", "stock_delta": D(0)}, "settlement_names_its_draw"),
    ({"stock_delta": D(1)}, "movement_follows_kind_sign"),
    ({"kind": "administer"}, "no_movement_kinds_move_nothing"),
    ({"balance_after": D(-1)}, "balance_after_never_negative"),
    ({"kind": "receive", "stock_delta": D(1)}, "receipt_names_supplier_and_containers"),
    ({"kind": "bogus"}, "entry_kind_known"),
])
def test_the_database_refuses_entries_that_break_an_invariant(s, fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        _raw_entry(s, **fields)


def test_the_database_refuses_a_waste_witnessed_by_the_actor(s):
    _, draw = _drawn(s)
    with pytest.raises(IntegrityError, match="waste_needs_another_witness"), transaction.atomic():
        _raw_entry(s, kind="waste", stock_delta=D(0), draw=draw, witness=s.nurse)


def test_the_database_refuses_a_negative_balance(s):
    with pytest.raises(IntegrityError, match="balance_never_negative"), transaction.atomic():
        StockBalance.objects.filter(lot=s.ketamine_lot, location=s.safe).update(on_hand=D(-1))


def test_the_clinics_profile_sets_the_form_106_clock_and_a_count_tolerance(s):
    with pytest.raises(ValidationError):
        services.ledger_configure(actor=s.admin, preset="federal", overrides={"form106_days": 90}, reason="x")
    with pytest.raises(ValidationError):
        services.ledger_configure(actor=s.admin, preset="federal", overrides={"form106_days": 30}, reason=" ")
    services.ledger_configure(actor=s.admin, preset="federal", reason="state board rule 12",
                              overrides={"form106_days": 30, "exact_counts": False, "count_tolerance_ml": "0.2"})
    _, opened = services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close",
                                      counted={s.ketamine_lot.pk: "19.9", s.esketamine_lot.pk: "6"})
    assert opened == []  # within the tolerance
    _, opened = services.ledger_count(actor=s.admin, location=s.safe, time_of_day="close",
                                      counted={s.ketamine_lot.pk: "19.6", s.esketamine_lot.pk: "6"})
    d = services.discrepancy_classify(actor=s.admin, discrepancy=opened[0], classification="significant_loss")
    assert d.form106_due_on == d.discovered_on + dt.timedelta(days=30)
