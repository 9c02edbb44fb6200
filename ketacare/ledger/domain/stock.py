"""Stock movements of a Schedule III substance and the invariants every sequence of them keeps.

Sources: controlled-substances.md §3 (continuing records, the actual date, per registered location; the perpetual
running balance is the product's choice beyond the federal minimum), §4 (what an administration or disposal record
holds), §6 (waste, breakage and destruction with witnesses). Quantities are in the product's unit: millilitres of a
vial's solution, or whole esketamine devices; milligrams are derived from the product's strength.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class EntryKind(StrEnum):
    RECEIVE = "receive"  # containers in from a supplier (§4 item 3)
    OPEN = "open"  # a container opened (no change to the amount on hand)
    DRAW = "draw"  # taken out of stock for one session's dose
    ADMINISTER = "administer"  # given to the patient, out of a draw (§4 item 4)
    WASTE = "waste"  # the unused remainder of a draw, witnessed (§4 item 5, §6)
    RETURN = "return"  # an unopened device of a draw put back in stock (§6)
    TRANSFER = "transfer"  # between storage locations of one registrant (one row out, one row in)
    DESTROY = "destroy"  # inventory destruction, Form 41, two witnesses (§6)
    BREAKAGE = "breakage"  # broken or spilled (§6)
    LOSS = "loss"  # lost or stolen (§7)
    COUNT = "count"  # a physical count; no movement (§5)


# The sign of each kind's effect on the amount on hand at its lot and location. None: either sign (a transfer is
# out at one location and in at the other). 0: no movement.
STOCK_SIGN: dict[EntryKind, int | None] = {
    EntryKind.RECEIVE: 1,
    EntryKind.OPEN: 0,
    EntryKind.DRAW: -1,
    EntryKind.ADMINISTER: 0,
    EntryKind.WASTE: 0,
    EntryKind.RETURN: 1,
    EntryKind.TRANSFER: None,
    EntryKind.DESTROY: -1,
    EntryKind.BREAKAGE: -1,
    EntryKind.LOSS: -1,
    EntryKind.COUNT: 0,
}

# Kinds that settle a draw: administered + wasted + returned must equal what was drawn before the session is
# discharged or its note signed.
SETTLES_DRAW = frozenset({EntryKind.ADMINISTER, EntryKind.WASTE, EntryKind.RETURN})
WITNESSED = frozenset({EntryKind.WASTE, EntryKind.DESTROY})


class LedgerRefused(Exception):
    """A movement the ledger's invariants refuse; the message says which and by how much."""

    code = "ledger.refused"


class InsufficientStock(LedgerRefused):
    code = "ledger.insufficient_stock"


class DrawOverSettled(LedgerRefused):
    code = "ledger.draw_over_settled"


def stock_delta(kind: EntryKind, quantity: Decimal) -> Decimal:
    """The signed change to the amount on hand of an entry of `kind` moving `quantity` (> 0, or signed for a
    transfer; a reversal passes the negated delta of its original and is not checked here)."""
    sign = STOCK_SIGN[kind]
    if sign is None:
        if quantity == ZERO:
            raise LedgerRefused("A transfer moves a non-zero quantity.")
        return quantity
    if sign == 0:
        return ZERO
    if quantity <= ZERO:
        raise LedgerRefused(f"A {kind.value} entry moves a positive quantity, not {quantity}.")
    return sign * quantity


def apply_to_balance(balance: Decimal, delta: Decimal, *, unit: str) -> Decimal:
    """The balance after `delta`; refused (InsufficientStock) when it would go below zero (§3 running balance)."""
    after = balance + delta
    if after < ZERO:
        raise InsufficientStock(f"Only {fmt(balance)} {unit} on hand; {fmt(-delta)} {unit} cannot be taken.")
    return after


@dataclass(frozen=True)
class DrawState:
    """What became of one draw so far."""

    drawn: Decimal
    administered: Decimal = ZERO
    wasted: Decimal = ZERO
    returned: Decimal = ZERO

    @property
    def settled(self) -> Decimal:
        return self.administered + self.wasted + self.returned

    @property
    def outstanding(self) -> Decimal:
        return self.drawn - self.settled

    @property
    def reconciled(self) -> bool:
        return self.outstanding == ZERO

    def after(self, kind: EntryKind, quantity: Decimal, *, unit: str) -> DrawState:
        """This draw once `quantity` more is administered, wasted or returned; refused beyond what is left."""
        if kind not in SETTLES_DRAW:
            raise LedgerRefused(f"A {kind.value} entry does not settle a draw.")
        if quantity <= ZERO:
            raise LedgerRefused(f"Enter a positive quantity, not {quantity}.")
        if quantity > self.outstanding:
            raise DrawOverSettled(f"Only {fmt(self.outstanding)} {unit} of this draw is unaccounted for; "
                                  f"{fmt(quantity)} {unit} is more than that.")
        field = {EntryKind.ADMINISTER: "administered", EntryKind.WASTE: "wasted", EntryKind.RETURN: "returned"}[kind]
        values = {"drawn": self.drawn, "administered": self.administered, "wasted": self.wasted,
                  "returned": self.returned}
        values[field] += quantity
        return DrawState(**values)


def fmt(quantity: Decimal) -> str:
    """A quantity without trailing zeros: 0.4, 10, 2."""
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity_mg(quantity: Decimal, *, mg_per_unit: Decimal) -> Decimal:
    """Milligrams in `quantity` units (mL x mg/mL, or devices x mg per device)."""
    return (quantity * mg_per_unit).quantize(Decimal("0.001"))


def first_expiring(lots: list[tuple[int, object, Decimal]]) -> int | None:
    """The lot to suggest for a draw: of (lot id, expires on, on hand), the first to expire with stock left."""
    usable = sorted((expires, lot_id) for lot_id, expires, on_hand in lots if on_hand > ZERO)
    return usable[0][1] if usable else None
