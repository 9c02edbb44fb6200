"""The ledger's pure rules (controlled-substances.md §3-§7), without a database."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.ledger.domain import clocks
from ketacare.ledger.domain.stock import (
    DrawOverSettled,
    DrawState,
    EntryKind,
    InsufficientStock,
    LedgerRefused,
    apply_to_balance,
    first_expiring,
    fmt,
    stock_delta,
)

D = Decimal


@pytest.mark.parametrize(("kind", "delta"), [
    (EntryKind.RECEIVE, D(10)), (EntryKind.RETURN, D(10)), (EntryKind.DRAW, D(-10)), (EntryKind.DESTROY, D(-10)),
    (EntryKind.BREAKAGE, D(-10)), (EntryKind.LOSS, D(-10)), (EntryKind.ADMINISTER, D(0)), (EntryKind.WASTE, D(0)),
    (EntryKind.COUNT, D(0)), (EntryKind.OPEN, D(0)),
])
def test_each_kind_moves_stock_in_its_own_direction(kind, delta):
    assert stock_delta(kind, D(10)) == delta


def test_a_movement_of_zero_or_less_is_refused():
    with pytest.raises(LedgerRefused):
        stock_delta(EntryKind.DRAW, D(0))
    with pytest.raises(LedgerRefused):
        stock_delta(EntryKind.RECEIVE, D(-1))
    with pytest.raises(LedgerRefused):
        stock_delta(EntryKind.TRANSFER, D(0))


def test_the_balance_never_goes_below_zero_and_the_refusal_says_how_much_is_there():
    assert apply_to_balance(D("10"), D("-10"), unit="mL") == 0
    with pytest.raises(InsufficientStock, match=r"Only 9.5 mL on hand; 10 mL cannot be taken"):
        apply_to_balance(D("9.5"), D("-10"), unit="mL")


def test_a_draw_is_reconciled_when_administered_wasted_and_returned_add_up_to_it():
    state = DrawState(drawn=D("7")).after(EntryKind.ADMINISTER, D("6.6"), unit="mL")
    assert not state.reconciled and state.outstanding == D("0.4")
    state = state.after(EntryKind.WASTE, D("0.4"), unit="mL")
    assert state.reconciled
    with pytest.raises(DrawOverSettled, match="Only 0 mL"):
        state.after(EntryKind.WASTE, D("0.1"), unit="mL")
    with pytest.raises(LedgerRefused):
        DrawState(drawn=D(1)).after(EntryKind.DRAW, D(1), unit="mL")


@given(drawn=st.decimals(min_value=D("0.1"), max_value=D(100), places=1),
       steps=st.lists(st.tuples(st.sampled_from([EntryKind.ADMINISTER, EntryKind.WASTE, EntryKind.RETURN]),
                                st.decimals(min_value=D("0.1"), max_value=D(50), places=1)), max_size=12))
def test_no_sequence_of_settlements_exceeds_the_draw(drawn, steps):
    state = DrawState(drawn=drawn)
    for kind, quantity in steps:
        try:
            state = state.after(kind, quantity, unit="mL")
        except DrawOverSettled:
            assert quantity > state.outstanding
        assert D(0) <= state.outstanding <= drawn
        assert state.settled + state.outstanding == drawn


def test_theft_discovered_on_a_friday_is_noticed_by_monday_and_form_106_in_45_days():
    friday = dt.date(2026, 12, 4)
    due = clocks.theft_clocks(friday)
    assert due.notice_due_on == dt.date(2026, 12, 7)
    assert due.form106_due_on == dt.date(2027, 1, 18)


def test_holidays_are_not_business_days():
    assert clocks.add_business_days(dt.date(2026, 12, 24), 1, holidays={dt.date(2026, 12, 25)}) == dt.date(2026, 12, 28)


def test_the_biennial_inventory_is_due_two_years_after_the_last_and_the_initial_on_first_dispensing():
    assert clocks.inventory_due_on(dt.date(2025, 3, 1), None) == dt.date(2027, 3, 1)
    assert clocks.inventory_due_on(None, dt.date(2026, 1, 5)) == dt.date(2026, 1, 5)
    annual = clocks.JurisdictionProfile(inventory_interval_days=365)
    assert clocks.inventory_due_on(dt.date(2025, 3, 1), None, annual) == dt.date(2026, 3, 1)


def test_expiry_flags():
    today = dt.date(2026, 12, 3)
    assert clocks.expiry_status(dt.date(2026, 12, 2), today) == "expired"
    assert clocks.expiry_status(dt.date(2027, 1, 15), today) == "expiring"
    assert clocks.expiry_status(dt.date(2027, 6, 1), today) == "ok"


def test_an_exact_count_reports_any_difference_and_a_tolerant_profile_ignores_small_ones():
    assert clocks.count_discrepancy(D("20"), D("19.6")) == D("-0.4")
    assert clocks.count_discrepancy(D("20"), D("20")) == 0
    tolerant = clocks.JurisdictionProfile(exact_counts=False, count_tolerance_ml=D("0.5"))
    assert clocks.count_discrepancy(D("20"), D("19.6"), tolerant) == 0


def test_the_first_expiring_lot_with_stock_is_suggested():
    lots = [(1, dt.date(2027, 5, 1), D(10)), (2, dt.date(2027, 1, 1), D(0)), (3, dt.date(2027, 3, 1), D(2))]
    assert first_expiring(lots) == 3
    assert first_expiring([(2, dt.date(2027, 1, 1), D(0))]) is None


def test_quantities_print_without_trailing_zeros():
    assert (fmt(D("0.400")), fmt(D("10.000")), fmt(D("2"))) == ("0.4", "10", "2")


def test_a_staff_member_wasting_far_more_than_peers_is_flagged_and_others_are_not():
    from ketacare.ledger.domain.signals import StaffUse, signals

    uses = [StaffUse(1, 10, D(50), 10, D(5), 0), StaffUse(2, 10, D(50), 10, D(4), 0),
            StaffUse(3, 10, D(50), 10, D(20), 0), StaffUse(4, 2, D(10), 1, D(1), 1)]
    by_id = {s.staff_id: s for s in signals(uses)}
    assert by_id[3].waste_flag and by_id[3].waste_share == D("0.4") and by_id[3].peer_share == D("0.09")
    assert not by_id[1].waste_flag and not by_id[2].waste_flag
    assert by_id[4].no_administration_flag and not by_id[4].waste_flag  # too few draws to judge waste
    assert [s.staff_id for s in signals(uses)][:2] == [3, 4]


def test_a_profile_may_tighten_but_never_loosen_the_federal_periods():
    iowa = clocks.profile_from("iowa", {})
    assert iowa.inventory_interval_days == 365
    assert clocks.profile_from("federal", {"form106_days": 30}).form106_days == 30
    for field, value in [("form106_days", 60), ("retention_years", 1), ("inventory_interval_days", 800),
                         ("notice_business_days", 2), ("count_tolerance_ml", "5")]:
        with pytest.raises(clocks.ProfileInvalid) as exc:
            clocks.profile_from("federal", {field: value})
        assert exc.value.field == field
    with pytest.raises(clocks.ProfileInvalid):
        clocks.profile_from("atlantis", {})
