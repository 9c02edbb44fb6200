"""Writes to the controlled-substance ledger: each in one transaction with its audit event, each movement under a
row lock on the balance it changes (so concurrent draws on PostgreSQL queue and cannot double-spend).

controlled-substances.md §3 (running balance, actual dates), §4 (record elements), §5 (counts), §6 (witnessed waste,
destruction with two witnesses), §7 (theft or significant loss: the clocks and a frozen snapshot).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.access import require
from ketacare.accounts.models import User
from ketacare.accounts.roles import Perm
from ketacare.accounts.usernames import normalize_username
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock, context
from ketacare.core.errors import Conflict, NotFound
from ketacare.ledger import choices as c
from ketacare.ledger.domain import clocks, stock
from ketacare.ledger.domain.stock import ZERO, DrawState, EntryKind, fmt
from ketacare.ledger.models import (
    Count,
    Discrepancy,
    LedgerEntry,
    LedgerSetting,
    Lot,
    Product,
    Registrant,
    StockBalance,
    StorageLocation,
    Supplier,
)

FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class LedgerRefused(Conflict):
    """The ledger refuses this movement."""

    code = "ledger.refused"


class InsufficientStock(LedgerRefused):
    """Not enough stock of this lot at this location."""

    code = "ledger.insufficient_stock"


class WitnessRefused(LedgerRefused):
    """The witness could not be confirmed."""

    code = "ledger.witness_refused"
    http_status = 403


class LedgerNotFound(NotFound):
    """No such ledger record in your clinic."""

    code = "ledger.not_found"


def profile_for(clinic_id: int) -> clocks.JurisdictionProfile:
    from ketacare.ledger.selectors import profile_for as current

    return current(clinic_id)


def _refuse(exc: stock.LedgerRefused) -> LedgerRefused:
    kind = InsufficientStock if isinstance(exc, stock.InsufficientStock) else LedgerRefused
    return kind(str(exc))


def _mine(actor, row) -> None:
    if row is None or row.clinic_id != actor.clinic_id:
        raise LedgerNotFound()


def _quantity(value: Any, field: str = "quantity") -> Decimal:
    try:
        q = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter a number."}) from None
    if not q.is_finite() or q <= ZERO:
        raise ValidationError({field: "Enter a positive quantity."})
    if q != q.quantize(Decimal("0.001")):
        raise ValidationError({field: "Use at most three decimals."})
    if q >= Decimal("1e8"):
        raise ValidationError({field: "This quantity is too large."})
    return q


def _counted(value: Any) -> Decimal:
    """A counted amount: zero or a positive quantity."""
    try:
        if Decimal(str(value)) == ZERO:
            return ZERO
    except (InvalidOperation, ValueError):
        raise ValidationError({"counted": "Enter the amount counted."}) from None
    return _quantity(value, "counted")


def _when(at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if at is None:
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + FUTURE_TOLERANCE:
        raise ValidationError({"at": "This time is in the future: record the actual date (§3)."})
    return at


def _locked_balance(lot: Lot, location: StorageLocation, *, create: bool = False) -> StockBalance:
    """The balance row of (lot, location), locked until the transaction ends."""
    if create:
        StockBalance.objects.get_or_create(lot=lot, location=location, defaults={"clinic_id": lot.clinic_id})
    try:
        return StockBalance.objects.select_for_update().get(lot=lot, location=location)
    except StockBalance.DoesNotExist:
        raise InsufficientStock(f"There is no stock of lot {lot.lot_number} at {location.name}.") from None


def _post(*, actor, kind: EntryKind, lot: Lot, location: StorageLocation, quantity: Decimal, delta: Decimal,
          balance: StockBalance, at: dt.datetime, now: dt.datetime, **fields: Any) -> LedgerEntry:
    """Apply `delta` to the locked balance (never below zero) and append the entry."""
    product = lot.product
    try:
        after = stock.apply_to_balance(balance.on_hand, delta, unit=product.get_unit_display())
    except stock.LedgerRefused as exc:
        raise _refuse(exc) from None
    if delta != ZERO:
        balance.on_hand = after
        balance.save(update_fields=["on_hand"])
    entry = LedgerEntry(clinic_id=lot.clinic_id, kind=kind.value, lot=lot, location=location, quantity=quantity,
                        quantity_mg=stock.quantity_mg(quantity, mg_per_unit=product.mg_per_unit), stock_delta=delta,
                        balance_after=after, at=at, recorded_at=now, actor=actor, **fields)
    entry.full_clean(validate_constraints=False)
    entry.save()
    return entry


def _audit(actor, action: AuditAction, entry, **data: Any) -> None:
    patient_id = None
    if getattr(entry, "session_id", None):
        patient_id = entry.session.patient_id
    audit_record(actor=actor, action=action, target=entry, patient_id=patient_id,
                 data={"kind": getattr(entry, "kind", ""), "quantity": str(getattr(entry, "quantity", "")),
                       **{k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}})


# ---- Setup (clinic admin) ------------------------------------------------------------------------------------

def _setup_save(actor, row, action: AuditAction):
    require(actor, Perm.LEDGER_MANAGE)
    row.clinic_id = actor.clinic_id
    row.full_clean()
    row.save()
    audit_record(actor=actor, action=action, target=row, data={"name": str(row)})
    return row


@transaction.atomic
def registrant_save(*, actor, name: str, address: str, dea_number: str, registrant: Registrant | None = None):
    """A registered location and its DEA number (one per place of business, §1)."""
    row = registrant or Registrant(created_at=clock.now())
    if registrant is not None:
        _mine(actor, registrant)
    row.name, row.address, row.dea_number = name.strip(), address.strip(), dea_number.strip().upper()
    return _setup_save(actor, row, AuditAction.LEDGER_SETUP_SAVED)


@transaction.atomic
def location_save(*, actor, registrant: Registrant, name: str, kind: str) -> StorageLocation:
    _mine(actor, registrant)
    return _setup_save(actor, StorageLocation(registrant=registrant, name=name.strip(), kind=kind),
                       AuditAction.LEDGER_SETUP_SAVED)


@transaction.atomic
def supplier_save(*, actor, name: str, address: str, dea_number: str) -> Supplier:
    return _setup_save(actor, Supplier(name=name.strip(), address=address.strip(),
                                       dea_number=dea_number.strip().upper()), AuditAction.LEDGER_SETUP_SAVED)


@transaction.atomic
def product_save(*, actor, substance: str, name: str, ndc: str, form: str, unit: str, mg_per_unit: Decimal,
                 units_per_container: Decimal) -> Product:
    return _setup_save(actor, Product(substance=substance, name=name.strip(), ndc=ndc.strip(), form=form.strip(),
                                      unit=unit, mg_per_unit=mg_per_unit, units_per_container=units_per_container),
                       AuditAction.LEDGER_SETUP_SAVED)


# ---- Stock in ------------------------------------------------------------------------------------------------

@transaction.atomic
def ledger_receive(*, actor, location: StorageLocation, product: Product, supplier: Supplier, lot_number: str,
                   expires_on: dt.date, containers: int, invoice_ref: str = "",
                   received_at: dt.datetime | None = None) -> LedgerEntry:
    """Containers in from a supplier, on the date actually received (§3, §4 item 3). A new lot is created; a known
    lot must carry the same expiry."""
    require(actor, Perm.LEDGER_MANAGE)
    for row in (location, product, supplier):
        _mine(actor, row)
    now = clock.now()
    at = _when(received_at, now)
    lot_number = (lot_number or "").strip()
    errors = {}
    if not lot_number:
        errors["lot_number"] = "Enter the lot number printed on the container."
    if not isinstance(containers, int) or containers < 1 or containers > 10000:
        errors["containers"] = "Enter the number of containers received (1 or more)."
    if expires_on is None:
        errors["expires_on"] = "Enter the expiry date."
    if errors:
        raise ValidationError(errors)
    lot, created = Lot.objects.get_or_create(product=product, lot_number=lot_number,
                                             defaults={"clinic_id": actor.clinic_id, "expires_on": expires_on})
    if not created and lot.expires_on != expires_on:
        raise ValidationError({"expires_on": f"Lot {lot_number} is on record as expiring {lot.expires_on}."})
    quantity = product.units_per_container * containers
    balance = _locked_balance(lot, location, create=True)
    entry = _post(actor=actor, kind=EntryKind.RECEIVE, lot=lot, location=location, quantity=quantity, delta=quantity,
                  balance=balance, at=at, now=now, supplier=supplier, containers=containers,
                  invoice_ref=(invoice_ref or "").strip()[:60])
    _audit(actor, AuditAction.LEDGER_RECORDED, entry, lot=lot_number, containers=containers)
    return entry


# ---- Draw, administer, waste, return ---------------------------------------------------------------------------

def session_for(actor, session_id: int):
    """The session, if it is of the actor's clinic (LedgerNotFound otherwise)."""
    from ketacare.treatment.selectors import session_get_for

    try:
        return session_get_for(user=actor, session_id=session_id)
    except NotFound:
        raise LedgerNotFound("No such session in your clinic.") from None


@transaction.atomic
def ledger_draw(*, actor, session_id: int, lot: Lot, location: StorageLocation, quantity: Any,
                at: dt.datetime | None = None) -> LedgerEntry:
    """Take `quantity` (mL or devices) of a lot out of stock for a session's dose. Refused beyond the stock on hand:
    the balance row is locked, so of many concurrent draws only those that fit succeed."""
    require(actor, Perm.LEDGER_RECORD)
    _mine(actor, lot)
    _mine(actor, location)
    quantity = _quantity(quantity)
    session = session_for(actor, session_id)
    if session.signed_at is not None or session.state in ("discharged", "cancelled"):
        raise LedgerRefused("This session has ended: nothing more can be drawn for it.")
    wanted = c.ROUTE_SUBSTANCE.get(session.course.route)
    if wanted is None or lot.product.substance != wanted:
        raise LedgerRefused(f"This session's route takes {wanted.label if wanted else 'no drug'}, not "
                            f"{lot.product.get_substance_display()}.")
    if lot.product.unit == c.Unit.DEVICE and quantity != quantity.to_integral_value():
        raise ValidationError({"quantity": "Devices are drawn whole."})
    now = clock.now()
    if lot.expires_on < timezone.localdate(now):
        raise LedgerRefused(f"Lot {lot.lot_number} expired on {lot.expires_on}: it cannot be drawn.")
    balance = _locked_balance(lot, location)
    entry = _post(actor=actor, kind=EntryKind.DRAW, lot=lot, location=location, quantity=quantity, delta=-quantity,
                  balance=balance, at=_when(at, now), now=now, session=session)
    _audit(actor, AuditAction.LEDGER_RECORDED, entry)
    return entry


def draw_state(draw: LedgerEntry) -> DrawState:
    """What became of a draw: the sums of its settlements by kind (reversals included, as negative rows)."""
    sums = {k: ZERO for k in ("administer", "waste", "return")}
    for kind, quantity in draw.settlements.values_list("kind", "quantity"):
        sums[kind] += quantity
    drawn = draw.quantity + sum((r.quantity for r in LedgerEntry.objects.filter(corrects=draw)), ZERO)
    return DrawState(drawn=drawn, administered=sums["administer"], wasted=sums["waste"], returned=sums["return"])


def _settle(*, actor, draw: LedgerEntry, kind: EntryKind, quantity: Any, at, **fields: Any) -> LedgerEntry:
    _mine(actor, draw)
    if draw.kind != EntryKind.DRAW or draw.is_reversal:
        raise LedgerRefused("This entry is not a draw.")
    quantity = _quantity(quantity)
    balance = _locked_balance(draw.lot, draw.location)  # serialises every settlement of this lot's draws
    state = draw_state(draw)
    unit = draw.lot.product.get_unit_display()
    try:
        state.after(kind, quantity, unit=unit)
    except stock.LedgerRefused as exc:
        raise _refuse(exc) from None
    now = clock.now()
    delta = quantity if kind is EntryKind.RETURN else ZERO
    return _post(actor=actor, kind=kind, lot=draw.lot, location=draw.location, quantity=quantity, delta=delta,
                 balance=balance, at=_when(at, now), now=now, draw=draw, session=draw.session, **fields)


@transaction.atomic
def ledger_administer(*, actor, draw: LedgerEntry, quantity: Any, administration_id: int | None = None,
                      at: dt.datetime | None = None) -> LedgerEntry:
    """What of a draw was given to the patient (§4 item 4), linked to the session's administration record."""
    require(actor, Perm.LEDGER_RECORD)
    entry = _settle(actor=actor, draw=draw, kind=EntryKind.ADMINISTER, quantity=quantity, at=at,
                    administration_id=administration_id)
    _audit(actor, AuditAction.LEDGER_RECORDED, entry)
    return entry


def witness_confirm(*, actor, username: str, password: str, not_ids: tuple[int, ...] = ()) -> User:
    """A second staff member confirms by re-entering their own password: active, of this clinic, with a role that
    may witness, not the actor nor whoever drew. A wrong password is refused and counts toward that user's login
    lockout (it is recorded outside the caller's transaction, so the refusal keeps it)."""
    from ketacare.accounts import throttle

    username = normalize_username(username or "")
    if not username or not password:
        raise WitnessRefused("A second staff member must confirm with their own username and password.")
    witness = User.objects.filter(username=username).first()
    if witness is not None and (witness.pk == actor.pk or witness.pk in not_ids):
        raise WitnessRefused("The witness must be someone other than the person who drew or wasted the dose.")
    if throttle.login_locked(username):
        raise WitnessRefused("This witness is locked out after too many failed attempts; ask another colleague.")
    if witness is None or not witness.check_password(password):
        throttle.login_failure_record(username, context.current().ip)
        audit_record(actor=actor, action=AuditAction.LEDGER_WITNESS_FAILED, data={"witness": username[:150]})
        raise WitnessRefused("The witness's username or password is wrong.")
    if (not witness.is_active or witness.clinic_id != actor.clinic_id
            or not witness.has_perm_to(Perm.LEDGER_RECORD)):
        raise WitnessRefused("This user may not witness: an active nurse or prescriber of this clinic is needed.")
    return witness


def ledger_waste(*, actor, draw: LedgerEntry, quantity: Any, method: str, witness_username: str,
                 witness_password: str, at: dt.datetime | None = None) -> LedgerEntry:
    """The unused remainder of a draw, wasted before a second staff member who confirms with their own password
    (§6 product rule; §4 item 5: date, manner, quantity)."""
    require(actor, Perm.LEDGER_RECORD)
    _mine(actor, draw)
    method = (method or "").strip()
    if not method:
        raise ValidationError({"method": "Say how it was wasted (e.g. into a drug-waste container)."})
    _quantity(quantity)
    # Outside the transaction: a failed witness attempt must stay recorded for the lockout.
    witness = witness_confirm(actor=actor, username=witness_username, password=witness_password,
                              not_ids=(draw.actor_id,))
    with transaction.atomic():
        entry = _settle(actor=actor, draw=draw, kind=EntryKind.WASTE, quantity=quantity, at=at, witness=witness,
                        method=method[:120])
        _audit(actor, AuditAction.LEDGER_RECORDED, entry, witness=witness.username)
    return entry


@transaction.atomic
def ledger_return(*, actor, draw: LedgerEntry, quantity: Any, at: dt.datetime | None = None) -> LedgerEntry:
    """Unopened devices of a draw back into stock (§6: a device not used is returned or wasted)."""
    require(actor, Perm.LEDGER_RECORD)
    _mine(actor, draw)
    if draw.lot.product.unit != c.Unit.DEVICE:
        raise LedgerRefused("Only unopened devices go back to stock; waste the rest of a vial's draw.")
    q = _quantity(quantity)
    if q != q.to_integral_value():
        raise ValidationError({"quantity": "Devices are returned whole."})
    entry = _settle(actor=actor, draw=draw, kind=EntryKind.RETURN, quantity=q, at=at)
    _audit(actor, AuditAction.LEDGER_RECORDED, entry)
    return entry


def unreconciled_draws(*, session_id: int) -> list[tuple[LedgerEntry, DrawState]]:
    """Draws of a session not yet fully administered, wasted or returned."""
    draws = LedgerEntry.objects.filter(session_id=session_id, kind=EntryKind.DRAW, corrects__isnull=True)
    out = []
    for draw in draws.select_related("lot__product"):
        state = draw_state(draw)
        if not state.reconciled:
            out.append((draw, state))
    return out


# ---- Other movements -----------------------------------------------------------------------------------------

@transaction.atomic
def ledger_open(*, actor, lot: Lot, location: StorageLocation, at: dt.datetime | None = None) -> LedgerEntry:
    """A container opened (no change to the amount on hand)."""
    require(actor, Perm.LEDGER_RECORD)
    _mine(actor, lot)
    _mine(actor, location)
    balance = _locked_balance(lot, location)
    now = clock.now()
    entry = _post(actor=actor, kind=EntryKind.OPEN, lot=lot, location=location, quantity=ZERO, delta=ZERO,
                  balance=balance, at=_when(at, now), now=now)
    _audit(actor, AuditAction.LEDGER_RECORDED, entry)
    return entry


@transaction.atomic
def ledger_transfer(*, actor, lot: Lot, source: StorageLocation, destination: StorageLocation, quantity: Any,
                    at: dt.datetime | None = None) -> tuple[LedgerEntry, LedgerEntry]:
    """Move stock between two locations of the same registrant: one entry out, one in, paired."""
    require(actor, Perm.LEDGER_RECORD)
    for row in (lot, source, destination):
        _mine(actor, row)
    if source.pk == destination.pk:
        raise ValidationError({"destination": "Choose another location."})
    if source.registrant_id != destination.registrant_id:
        raise LedgerRefused("A transfer stays within one registered location (§3: records per registration).")
    q = _quantity(quantity)
    first, second = sorted([source, destination], key=lambda x: x.pk)  # one lock order: no deadlock
    locks = {first.pk: _locked_balance(lot, first, create=first.pk == destination.pk),
             second.pk: _locked_balance(lot, second, create=second.pk == destination.pk)}
    now = clock.now()
    when = _when(at, now)
    out = _post(actor=actor, kind=EntryKind.TRANSFER, lot=lot, location=source, quantity=q, delta=-q,
                balance=locks[source.pk], at=when, now=now, note=f"to {destination.name}")
    into = _post(actor=actor, kind=EntryKind.TRANSFER, lot=lot, location=destination, quantity=q, delta=q,
                 balance=locks[destination.pk], at=when, now=now, pair=out, note=f"from {source.name}")
    _audit(actor, AuditAction.LEDGER_RECORDED, out, to=destination.name)
    return out, into


def ledger_destroy(*, actor, lot: Lot, location: StorageLocation, quantity: Any, method: str, form41_ref: str,
                   witnesses: list[tuple[str, str]], at: dt.datetime | None = None) -> LedgerEntry:
    """Inventory destruction on DEA Form 41 data with two authorised employee witnesses (§6)."""
    require(actor, Perm.LEDGER_MANAGE)
    _mine(actor, lot)
    _mine(actor, location)
    q = _quantity(quantity)
    if not (method or "").strip():
        raise ValidationError({"method": "Say how it was rendered non-retrievable."})
    if len(witnesses) != 2:
        raise WitnessRefused("Destruction needs two witnesses (§6).")
    first = witness_confirm(actor=actor, username=witnesses[0][0], password=witnesses[0][1])
    second = witness_confirm(actor=actor, username=witnesses[1][0], password=witnesses[1][1], not_ids=(first.pk,))
    with transaction.atomic():
        balance = _locked_balance(lot, location)
        now = clock.now()
        entry = _post(actor=actor, kind=EntryKind.DESTROY, lot=lot, location=location, quantity=q, delta=-q,
                      balance=balance, at=_when(at, now), now=now, witness=first, witness2=second,
                      method=method.strip()[:120], form41_ref=(form41_ref or "").strip()[:40])
        _audit(actor, AuditAction.LEDGER_RECORDED, entry, witnesses=[first.username, second.username])
    return entry


@transaction.atomic
def ledger_breakage(*, actor, lot: Lot, location: StorageLocation, quantity: Any, note: str,
                    at: dt.datetime | None = None) -> LedgerEntry:
    """Broken or spilled stock, with the circumstances (§6)."""
    require(actor, Perm.LEDGER_RECORD)
    _mine(actor, lot)
    _mine(actor, location)
    q = _quantity(quantity)
    if not (note or "").strip():
        raise ValidationError({"note": "Describe what happened."})
    balance = _locked_balance(lot, location)
    now = clock.now()
    entry = _post(actor=actor, kind=EntryKind.BREAKAGE, lot=lot, location=location, quantity=q, delta=-q,
                  balance=balance, at=_when(at, now), now=now, note=note.strip())
    _audit(actor, AuditAction.LEDGER_RECORDED, entry)
    return entry


@transaction.atomic
def ledger_loss(*, actor, lot: Lot, location: StorageLocation, quantity: Any, note: str,
                at: dt.datetime | None = None) -> Discrepancy:
    """Stock lost or stolen: the balance comes down and an investigation opens (§7)."""
    require(actor, Perm.LEDGER_MANAGE)
    _mine(actor, lot)
    _mine(actor, location)
    q = _quantity(quantity)
    if not (note or "").strip():
        raise ValidationError({"note": "Describe what was found missing."})
    balance = _locked_balance(lot, location)
    expected = balance.on_hand
    now = clock.now()
    entry = _post(actor=actor, kind=EntryKind.LOSS, lot=lot, location=location, quantity=q, delta=-q,
                  balance=balance, at=_when(at, now), now=now, note=note.strip())
    row = Discrepancy(clinic_id=actor.clinic_id, location=location, lot=lot, entry=entry, expected=expected,
                      counted=expected - q, difference=-q, opened_at=now)
    row.save()
    _audit(actor, AuditAction.LEDGER_RECORDED, entry, discrepancy=row.pk)
    return row


# ---- Counts and discrepancies --------------------------------------------------------------------------------

@transaction.atomic
def ledger_count(*, actor, location: StorageLocation, counted: dict[int, Any], time_of_day: str,
                 kind: str = c.InventoryKind.ROUTINE, at: dt.datetime | None = None
                 ) -> tuple[Count, list[Discrepancy]]:
    """A physical count of every lot at a location (§5: exact volumes by default, at opening or close of business).
    A lot whose count disagrees with its running balance opens an investigation; the balance itself stays as the
    ledger says until the clinic admin resolves it."""
    require(actor, Perm.LEDGER_MANAGE)
    _mine(actor, location)
    if time_of_day not in c.TimeOfDay.values:
        raise ValidationError({"time_of_day": "Say whether the count is at opening or close of business (§5)."})
    if kind not in c.InventoryKind.values:
        raise ValidationError({"kind": "Unknown kind of count."})
    balances = {b.lot_id: b for b in StockBalance.objects.select_for_update().filter(location=location)
                .select_related("lot__product").order_by("pk")}
    unknown = set(counted) - set(balances)
    if unknown:
        raise ValidationError({"counted": f"Lot(s) {sorted(unknown)} have no balance at {location.name}."})
    missing = [b.lot.lot_number for lot_id, b in balances.items() if lot_id not in counted and b.on_hand > 0]
    if missing:
        raise ValidationError({"counted": f"Count every lot on hand; missing: {', '.join(missing)}."})
    values = {lot_id: _counted(v) for lot_id, v in counted.items()}
    profile = profile_for(actor.clinic_id)
    now = clock.now()
    when = _when(at, now)
    count = Count(clinic_id=actor.clinic_id, location=location, kind=kind, time_of_day=time_of_day,
                  counted_at=when, counted_by=actor)
    count.save()
    opened = []
    for lot_id, value in sorted(values.items()):
        balance = balances[lot_id]
        entry = _post(actor=actor, kind=EntryKind.COUNT, lot=balance.lot, location=location, quantity=ZERO,
                      delta=ZERO, balance=balance, at=when, now=now, count=count, counted=value)
        difference = clocks.count_discrepancy(balance.on_hand, value, profile)
        if difference != ZERO:
            row = Discrepancy(clinic_id=actor.clinic_id, location=location, lot=balance.lot, entry=entry,
                              expected=balance.on_hand, counted=value, difference=difference, opened_at=now)
            row.save()
            opened.append(row)
    audit_record(actor=actor, action=AuditAction.LEDGER_COUNTED, target=count,
                 data={"lots": len(values), "discrepancies": [d.pk for d in opened], "kind": kind})
    return count, opened


def _snapshot(d: Discrepancy) -> dict:
    """The affected records as they stood when the investigation was classified: frozen in the row (§7)."""
    entries = (LedgerEntry.objects.filter(lot=d.lot, location=d.location).order_by("at", "id")
               .values("id", "kind", "quantity", "stock_delta", "balance_after", "at", "actor__username",
                       "witness__username", "session_id", "corrects_id", "note"))
    return {"taken_at": clock.now().isoformat(), "lot": d.lot.lot_number, "location": d.location.name,
            "expected": str(d.expected), "counted": str(d.counted), "difference": str(d.difference),
            "entries": [{k: (v.isoformat() if isinstance(v, dt.datetime) else str(v) if isinstance(v, Decimal) else v)
                         for k, v in e.items()} for e in entries]}


@transaction.atomic
def discrepancy_classify(*, actor, discrepancy: Discrepancy, classification: str) -> Discrepancy:
    """The admin's finding. Theft or significant loss starts the 1-business-day notice and the 45-day Form 106
    clocks from discovery (§7) and freezes a snapshot of the lot's records."""
    require(actor, Perm.LEDGER_MANAGE)
    _mine(actor, discrepancy)
    d = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    if d.classification:
        raise LedgerRefused(f"Already classified as {d.get_classification_display().lower()}.")
    if classification not in c.Classification.values:
        raise ValidationError({"classification": "Choose theft, significant loss, loss or explained."})
    now = clock.now()
    d.classification, d.classified_by, d.classified_at = classification, actor, now
    if classification in c.REPORTABLE:
        d.discovered_on = timezone.localdate(d.opened_at)
        due = clocks.theft_clocks(d.discovered_on, profile_for(actor.clinic_id))
        d.notice_due_on, d.form106_due_on = due.notice_due_on, due.form106_due_on
        d.snapshot = _snapshot(d)
    d.save()
    audit_record(actor=actor, action=AuditAction.LEDGER_DISCREPANCY_CHANGED, target=d,
                 data={"classification": classification, "notice_due_on": str(d.notice_due_on or ""),
                       "form106_due_on": str(d.form106_due_on or "")})
    return d


@transaction.atomic
def discrepancy_record_filing(*, actor, discrepancy: Discrepancy, notice_sent_on: dt.date | None = None,
                              form106_filed_on: dt.date | None = None) -> Discrepancy:
    """When the DEA notice was sent or Form 106 filed (each once)."""
    require(actor, Perm.LEDGER_MANAGE)
    _mine(actor, discrepancy)
    d = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    if d.classification not in c.REPORTABLE:
        raise LedgerRefused("Only a theft or significant loss is reported to the DEA.")
    if notice_sent_on:
        d.notice_sent_on = notice_sent_on
    if form106_filed_on:
        d.form106_filed_on = form106_filed_on
    d.save()
    audit_record(actor=actor, action=AuditAction.LEDGER_DISCREPANCY_CHANGED, target=d,
                 data={"notice_sent_on": str(notice_sent_on or ""), "form106_filed_on": str(form106_filed_on or "")})
    return d


@transaction.atomic
def discrepancy_resolve(*, actor, discrepancy: Discrepancy, reason: str) -> Discrepancy:
    """Close the investigation with the admin's reason (a finding must be recorded first)."""
    require(actor, Perm.LEDGER_MANAGE)
    _mine(actor, discrepancy)
    d = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    reason = (reason or "").strip()
    if d.resolved_at is not None:
        raise LedgerRefused("This investigation is already resolved.")
    if not d.classification:
        raise ValidationError({"classification": "Record the finding (theft, loss, explained) before resolving."})
    if not reason:
        raise ValidationError({"reason": "Say what the investigation found."})
    d.resolution, d.resolved_by, d.resolved_at = reason, actor, clock.now()
    d.save()
    audit_record(actor=actor, action=AuditAction.LEDGER_DISCREPANCY_CHANGED, target=d, data={"resolved": True})
    return d


# ---- Corrections -----------------------------------------------------------------------------------------------

@transaction.atomic
def ledger_reverse(*, actor, entry: LedgerEntry, reason: str) -> LedgerEntry:
    """A correction: a new entry of the same kind with the quantities negated, pointing at the original; the
    balance returns to what it was before the original. Never an edit (§4 schema: immutable, corrections as new
    entries)."""
    if not actor.has_perm_to(Perm.LEDGER_MANAGE):
        require(actor, Perm.LEDGER_RECORD)
    _mine(actor, entry)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this entry is being corrected."})
    original = LedgerEntry.objects.select_related("lot__product", "location").get(pk=entry.pk)
    if original.is_reversal:
        raise LedgerRefused("A correction is not itself corrected: record the movement again.")
    if LedgerEntry.objects.filter(corrects=original).exists():
        raise LedgerRefused("This entry is already corrected.")
    if original.kind in (EntryKind.COUNT, EntryKind.OPEN):
        raise LedgerRefused("A count or an opening moves nothing: record a new one instead.")
    if original.kind == EntryKind.TRANSFER:
        raise LedgerRefused("Correct a transfer by transferring back.")
    if original.kind in (EntryKind.RECEIVE, EntryKind.WASTE, EntryKind.DESTROY, EntryKind.LOSS):
        require(actor, Perm.LEDGER_MANAGE, "Only the clinic admin corrects a receipt, a witnessed waste, a "
                                           "destruction or a loss.")
    balance = _locked_balance(original.lot, original.location)
    if original.kind == EntryKind.DRAW:
        state = draw_state(original)
        if state.settled != ZERO:
            raise LedgerRefused(f"{fmt(state.settled)} of this draw is already administered, wasted or returned: "
                                "correct those entries first.")
    now = clock.now()
    delta = -original.stock_delta
    try:
        after = stock.apply_to_balance(balance.on_hand, delta, unit=original.lot.product.get_unit_display())
    except stock.LedgerRefused as exc:
        raise _refuse(exc) from None
    balance.on_hand = after
    balance.save(update_fields=["on_hand"])
    row = LedgerEntry(clinic_id=original.clinic_id, kind=original.kind, lot=original.lot, location=original.location,
                      quantity=-original.quantity, quantity_mg=-original.quantity_mg, stock_delta=delta,
                      balance_after=after, at=now, recorded_at=now, actor=actor, corrects=original,
                      draw=original.draw, session=original.session, supplier=original.supplier,
                      containers=original.containers, witness=original.witness, witness2=original.witness2,
                      note=reason)
    row.full_clean(validate_constraints=False)
    row.save()
    _audit(actor, AuditAction.LEDGER_RECORDED, row, corrects=original.pk)
    return row



@transaction.atomic
def ledger_configure(*, actor, preset: str, overrides: dict, reason: str) -> LedgerSetting:
    """A new revision of the clinic's jurisdiction profile, each value within its bounds (never looser than the
    federal rule)."""
    from ketacare.core.revisions import revise

    require(actor, Perm.LEDGER_MANAGE)
    try:
        clocks.profile_from(preset, overrides)
    except (clocks.ProfileInvalid, ArithmeticError, ValueError, TypeError) as exc:
        raise ValidationError({getattr(exc, "field", "overrides"): str(exc)}) from None
    clean = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in overrides.items()}
    row = revise(LedgerSetting, actor=actor, reason=reason,
                 reason_prompt="Say why (e.g. the state board's rule that applies to this clinic).",
                 preset=preset, overrides=clean)
    audit_record(actor=actor, action=AuditAction.LEDGER_SETUP_SAVED, target=row,
                 data={"revision": row.revision, "preset": preset, "overrides": clean})
    return row
