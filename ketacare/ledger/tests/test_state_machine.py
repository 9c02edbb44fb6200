"""Acceptance 1: random sequences of ledger operations, run through the real services against the database, never
give a negative balance or an over-settled draw; the running balance always equals the sum of the entries; every
reversal restores the balance from before its original."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from ketacare.ledger import services
from ketacare.ledger.models import LedgerEntry, StockBalance
from ketacare.ledger.tests.factories import make_stock

pytestmark = pytest.mark.django_db
D = Decimal
QUANTITY = st.decimals(min_value=D("0.1"), max_value=D(25), places=1)


class Rollback(Exception):
    pass


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.s = make_stock(vials=1, devices=0)
        self.session = self.s.session()
        self.lot = self.s.ketamine_lot
        self.locations = [self.s.safe, self.s.cart]
        self.draws: list[LedgerEntry] = []
        self.reversible: list[LedgerEntry] = []

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def balance(self, location) -> Decimal:
        row = StockBalance.objects.filter(lot=self.lot, location=location).first()
        return row.on_hand if row else D(0)

    def _try(self, call):
        """Run a service; a refusal must leave every balance and the entry count as they were."""
        before = ([self.balance(x) for x in self.locations], LedgerEntry.objects.count())
        try:
            return call()
        except (services.LedgerRefused, ValidationError):
            assert ([self.balance(x) for x in self.locations], LedgerEntry.objects.count()) == before
            return None

    @rule(containers=st.integers(min_value=1, max_value=2))
    def receive(self, containers):
        entry = services.ledger_receive(actor=self.s.admin, location=self.s.safe, product=self.s.ketamine,
                                        supplier=self.s.supplier, lot_number=self.lot.lot_number,
                                        expires_on=self.lot.expires_on, containers=containers)
        self.reversible.append(entry)

    @rule(q=QUANTITY, where=st.integers(0, 1))
    def draw(self, q, where):
        entry = self._try(lambda: services.ledger_draw(actor=self.s.nurse, session_id=self.session.pk, lot=self.lot,
                                                       location=self.locations[where], quantity=q))
        if entry:
            self.draws.append(entry)
            self.reversible.append(entry)

    @precondition(lambda self: self.draws)
    @rule(data=st.data(), q=QUANTITY, kind=st.sampled_from(["administer", "waste"]))
    def settle(self, data, q, kind):
        draw = data.draw(st.sampled_from(self.draws))
        if kind == "administer":
            call = lambda: services.ledger_administer(actor=self.s.nurse, draw=draw, quantity=q)  # noqa: E731
        else:
            call = lambda: services.ledger_waste(actor=self.s.nurse, draw=draw, quantity=q,  # noqa: E731
                                                 method="sink", witness_username=self.s.witness.username,
                                                 witness_password=self.s.password)
        entry = self._try(call)
        if entry:
            self.reversible.append(entry)

    @rule(q=QUANTITY, direction=st.booleans())
    def transfer(self, q, direction):
        source, destination = self.locations if direction else self.locations[::-1]
        self._try(lambda: services.ledger_transfer(actor=self.s.nurse, lot=self.lot, source=source,
                                                   destination=destination, quantity=q))

    @rule(q=QUANTITY)
    def breakage(self, q):
        entry = self._try(lambda: services.ledger_breakage(actor=self.s.nurse, lot=self.lot, location=self.s.safe,
                                                           quantity=q, note="vial dropped"))
        if entry:
            self.reversible.append(entry)

    @precondition(lambda self: self.reversible)
    @rule(data=st.data())
    def reverse(self, data):
        original = data.draw(st.sampled_from(self.reversible))
        before = self.balance(original.location)
        reversal = self._try(lambda: services.ledger_reverse(actor=self.s.admin, entry=original, reason="test"))
        if reversal:
            # The balance is back to what it was before the original moved it.
            assert self.balance(original.location) == before - original.stock_delta
            self.reversible.remove(original)

    @invariant()
    def balances_are_never_negative_and_equal_the_sum_of_entries(self):
        for location in self.locations:
            balance = self.balance(location)
            assert balance >= 0
            total = sum(LedgerEntry.objects.filter(lot=self.lot, location=location)
                        .values_list("stock_delta", flat=True), D(0))
            assert balance == total

    @invariant()
    def no_draw_is_over_settled(self):
        for draw in self.draws:
            state = services.draw_state(draw)
            assert D(0) <= state.outstanding <= state.drawn
            assert state.administered >= 0 and state.wasted >= 0


def test_random_ledger_operations_keep_every_invariant():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
