"""The controlled-substance ledger: the registrant and its stock, and the append-only entries that move it.

controlled-substances.md §3 (continuing records per registered location, the actual date), §4 (the 1304.22(c)
elements), §5 (counts), §6 (waste and destruction with witnesses), §7 (theft and loss). Quantities are in the
product's unit (mL or devices) with the milligrams alongside.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ketacare.core.append_only import AppendOnlyModel, ImmutableRecord
from ketacare.core.models import ClinicOwned
from ketacare.core.revisions import SettingRevision
from ketacare.ledger import choices as c

USER = settings.AUTH_USER_MODEL
QTY: dict[str, Any] = {"max_digits": 12, "decimal_places": 3}


class LedgerImmutable(ImmutableRecord):
    """A ledger record is never changed or deleted: record a reversing entry instead."""

    code = "ledger.immutable"


class Registrant(ClinicOwned):
    """The clinic's DEA registration for one registered location (a separate registration per place, §1)."""

    name = models.CharField(max_length=160)
    address = models.TextField()
    dea_number = models.CharField(max_length=9)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "dea_number"], name="registrant_dea_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.dea_number})"


class StorageLocation(ClinicOwned):
    """A safe, cart or cabinet of one registered location: balances are kept per lot and location."""

    registrant = models.ForeignKey(Registrant, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=c.LocationKind.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["registrant", "name"], name="location_name_unique")]

    def __str__(self) -> str:
        return self.name


class Supplier(ClinicOwned):
    """Where stock comes from: name, address and DEA number go on every receipt (§4 item 3)."""

    name = models.CharField(max_length=160)
    address = models.TextField()
    dea_number = models.CharField(max_length=9)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(ClinicOwned):
    """A finished form and its container: ketamine HCl by concentration and vial volume, or the 28 mg esketamine
    device (§4 items 1-2)."""

    substance = models.CharField(max_length=16, choices=c.Substance.choices)
    name = models.CharField(max_length=160)
    ndc = models.CharField(max_length=14)
    form = models.CharField(max_length=80)
    unit = models.CharField(max_length=8, choices=c.Unit.choices)
    mg_per_unit = models.DecimalField(max_digits=8, decimal_places=3)  # mg/mL, or mg per device
    units_per_container = models.DecimalField(max_digits=8, decimal_places=3)  # mL per vial, devices per pack
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["substance", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "ndc"], name="product_ndc_unique"),
            models.CheckConstraint(name="product_strength_positive",
                                   condition=Q(mg_per_unit__gt=0) & Q(units_per_container__gt=0)),
            models.CheckConstraint(name="esketamine_in_devices",
                                   condition=~Q(substance="esketamine") | Q(unit="device")),
        ]

    def __str__(self) -> str:
        return self.name


class Lot(ClinicOwned):
    """A manufacturer's lot of one product, with its expiry."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()

    class Meta:
        ordering = ["expires_on", "lot_number"]
        constraints = [models.UniqueConstraint(fields=["product", "lot_number"], name="lot_unique_per_product")]

    def __str__(self) -> str:
        return f"{self.product.name} lot {self.lot_number}"


class StockBalance(ClinicOwned):
    """The running balance of one lot at one location (the sum of its entries' stock deltas). The row is locked
    by every movement, so concurrent draws queue; the database refuses a negative balance."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="balances")
    on_hand = models.DecimalField(default=0, **QTY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "location"], name="one_balance_per_lot_and_location"),
            models.CheckConstraint(name="balance_never_negative", condition=Q(on_hand__gte=0)),
        ]


class Count(AppendOnlyModel, ClinicOwned):
    """One physical count of a location, at opening or close of business (§5); an initial or biennial inventory
    when it covers everything on hand."""

    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="counts")
    kind = models.CharField(max_length=16, choices=c.InventoryKind.choices, default=c.InventoryKind.ROUTINE)
    time_of_day = models.CharField(max_length=8, choices=c.TimeOfDay.choices)
    counted_at = models.DateTimeField()
    counted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    append_only_error = LedgerImmutable

    class Meta:
        ordering = ["-counted_at", "-id"]


SIGNED_KINDS = ["receive", "draw", "return", "destroy", "breakage", "loss"]
NO_MOVEMENT = ["open", "administer", "waste", "count"]
SETTLING = ["administer", "waste", "return"]


class LedgerEntry(AppendOnlyModel, ClinicOwned):
    """One movement of a controlled substance, with who and the actual date (§3). Never updated or deleted: a
    correction is a reversing entry (`corrects`) of the same kind with the quantities negated."""

    kind = models.CharField(max_length=16, choices=c.EntryKind.choices)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="entries")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="entries")
    quantity = models.DecimalField(**QTY)  # in the product's unit; negative only on a reversal
    quantity_mg = models.DecimalField(**QTY)
    stock_delta = models.DecimalField(**QTY)  # the signed change to the lot's balance at the location
    balance_after = models.DecimalField(**QTY)  # the running balance once this entry is posted
    at = models.DateTimeField()  # when it actually happened (§3: the actual date)
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    witness2 = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    draw = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="settlements")
    corrects = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    pair = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="paired_with")
    session = models.ForeignKey("treatment.DosingSession", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    administration = models.ForeignKey("treatment.DoseAdministration", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    invoice_ref = models.CharField(max_length=60, blank=True)
    containers = models.PositiveIntegerField(null=True, blank=True)
    count = models.ForeignKey(Count, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    counted = models.DecimalField(null=True, blank=True, **QTY)
    method = models.CharField(max_length=120, blank=True)  # manner of waste or destruction (§4 item 5)
    form41_ref = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    append_only_error = LedgerImmutable

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["clinic", "at"]), models.Index(fields=["lot", "location", "at"])]
        constraints = [
            models.CheckConstraint(name="entry_kind_known", condition=Q(kind__in=[k for k, _ in c.EntryKind.choices])),
            models.CheckConstraint(name="no_movement_kinds_move_nothing",
                                   condition=~Q(kind__in=NO_MOVEMENT) | Q(stock_delta=0)),
            models.CheckConstraint(name="movement_follows_kind_sign", condition=(
                Q(kind__in=NO_MOVEMENT + ["transfer"])
                | Q(kind__in=["receive", "return"], corrects__isnull=True, stock_delta__gt=0)
                | Q(kind__in=["draw", "destroy", "breakage", "loss"], corrects__isnull=True, stock_delta__lt=0)
                | Q(corrects__isnull=False))),
            models.CheckConstraint(name="quantity_nonzero", condition=Q(kind__in=["open", "count"]) | ~Q(quantity=0)),
            models.CheckConstraint(name="balance_after_never_negative", condition=Q(balance_after__gte=0)),
            models.CheckConstraint(name="draw_is_for_a_session",
                                   condition=~Q(kind="draw") | Q(session__isnull=False)),
            models.CheckConstraint(name="settlement_names_its_draw",
                                   condition=~Q(kind__in=SETTLING) | Q(draw__isnull=False)),
            models.CheckConstraint(name="waste_needs_another_witness", condition=~Q(kind="waste") | (
                Q(witness__isnull=False) & ~Q(witness=F("actor")))),
            models.CheckConstraint(name="destroy_needs_two_other_witnesses", condition=~Q(kind="destroy") | (
                Q(witness__isnull=False) & Q(witness2__isnull=False) & ~Q(witness=F("actor"))
                & ~Q(witness2=F("actor")) & ~Q(witness=F("witness2")))),
            models.CheckConstraint(name="receipt_names_supplier_and_containers", condition=~Q(
                kind="receive", corrects__isnull=True) | (Q(supplier__isnull=False) & Q(containers__gt=0))),
            models.CheckConstraint(name="count_records_the_counted_amount",
                                   condition=~Q(kind="count") | Q(counted__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of lot {self.lot_id}"

    @property
    def is_reversal(self) -> bool:
        return self.corrects_id is not None


class Discrepancy(AppendOnlyModel, ClinicOwned):
    """An investigation: a count that disagreed with the running balance, or a reported loss. The clinic admin
    resolves it with a reason; marking it theft or significant loss starts the DEA clocks (§7) and freezes a
    snapshot of the affected records. Each later state is set once."""

    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="discrepancies")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="discrepancies")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="discrepancy")
    expected = models.DecimalField(**QTY)
    counted = models.DecimalField(**QTY)
    difference = models.DecimalField(**QTY)  # counted - expected; negative when short
    opened_at = models.DateTimeField()
    classification = models.CharField(max_length=20, choices=c.Classification.choices, blank=True)
    classified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    classified_at = models.DateTimeField(null=True, blank=True)
    discovered_on = models.DateField(null=True, blank=True)
    notice_due_on = models.DateField(null=True, blank=True)
    form106_due_on = models.DateField(null=True, blank=True)
    snapshot = models.JSONField(null=True, blank=True)
    notice_sent_on = models.DateField(null=True, blank=True)
    form106_filed_on = models.DateField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    append_only_mutable_once = ("classification", "classified_by", "classified_at", "discovered_on", "notice_due_on",
                                "form106_due_on", "snapshot", "notice_sent_on", "form106_filed_on", "resolution",
                                "resolved_by", "resolved_at")
    append_only_error = LedgerImmutable

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name_plural = "discrepancies"
        constraints = [
            models.CheckConstraint(name="discrepancy_differs", condition=~Q(difference=0)),
            models.CheckConstraint(name="resolved_with_reason", condition=Q(resolved_at__isnull=True) | (
                Q(resolved_by__isnull=False) & ~Q(resolution=""))),
        ]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class LedgerSetting(SettingRevision):
    """The clinic's jurisdiction profile: a preset (federal, or a stricter state's) and its overrides, versioned
    with a reason (controlled-substances.md §3, §5, §7: states can be stricter)."""

    preset = models.CharField(max_length=16, default="federal")
    overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["clinic", "revision"], name="ledger_setting_revision_unique")]
