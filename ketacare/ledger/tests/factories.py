"""A clinic with a controlled-substance stock, for ledger tests (fake names only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.ledger import services
from ketacare.ledger.models import Lot, Product, Registrant, StorageLocation, Supplier
from ketacare.treatment.tests.factories import CourseFactory, SessionFactory
from tests.factories import PASSWORD, ClinicFactory, PatientFactory, UserFactory


@dataclass
class Stock:
    clinic: object
    admin: object
    nurse: object
    witness: object
    prescriber: object
    registrant: Registrant
    safe: StorageLocation
    cart: StorageLocation
    supplier: Supplier
    ketamine: Product
    esketamine: Product
    ketamine_lot: Lot
    esketamine_lot: Lot
    password: str = PASSWORD

    def session(self, route: str = "iv", state: str = "dosing"):
        patient = PatientFactory(clinic=self.clinic)
        course = CourseFactory(patient=patient, clinic=self.clinic, route=route,
                               protocol_ref="iv-ketamine-induction@1" if route == "iv" else "esketamine-trd@1")
        return SessionFactory(course=course, state=state)


def make_stock(*, vials: int = 2, devices: int = 6, clinic=None) -> Stock:
    """A registrant with a safe and a cart, a supplier, ketamine 50 mg/mL 10 mL vials and 28 mg esketamine devices,
    received into the safe."""
    clinic = clinic or ClinicFactory()
    admin = UserFactory(role=Role.CLINIC_ADMIN, clinic=clinic, username=f"admin-{clinic.pk}")
    nurse = UserFactory(role=Role.NURSE, clinic=clinic)
    witness = UserFactory(role=Role.NURSE, clinic=clinic)
    prescriber = UserFactory(role=Role.PRESCRIBER, clinic=clinic)
    registrant = services.registrant_save(actor=admin, name="Harbor Ketamine Clinic", address="1 Harbor St, Boston MA",
                                          dea_number="FH1234563")
    safe = services.location_save(actor=admin, registrant=registrant, name="Main safe", kind="safe")
    cart = services.location_save(actor=admin, registrant=registrant, name="Infusion cart", kind="cart")
    supplier = services.supplier_save(actor=admin, name="Northeast Medical Supply", address="9 Dock Rd, Albany NY",
                                      dea_number="RN7654321")
    ketamine = services.product_save(actor=admin, substance="ketamine", name="Ketamine HCl 50 mg/mL, 10 mL vial",
                                     ndc="0409-2051-05", form="injection solution", unit="ml",
                                     mg_per_unit=Decimal(50), units_per_container=Decimal(10))
    esketamine = services.product_save(actor=admin, substance="esketamine", name="SPRAVATO 28 mg device",
                                       ndc="50458-028-02", form="nasal spray device", unit="device",
                                       mg_per_unit=Decimal(28), units_per_container=Decimal(1))
    expires = timezone.localdate() + dt.timedelta(days=365)
    k = services.ledger_receive(actor=admin, location=safe, product=ketamine, supplier=supplier, lot_number="K-1001",
                                expires_on=expires, containers=vials, invoice_ref="INV-1") if vials else None
    e = services.ledger_receive(actor=admin, location=safe, product=esketamine, supplier=supplier,
                                lot_number="E-2001", expires_on=expires, containers=devices,
                                invoice_ref="INV-2") if devices else None
    return Stock(clinic=clinic, admin=admin, nurse=nurse, witness=witness, prescriber=prescriber,
                 registrant=registrant, safe=safe, cart=cart, supplier=supplier, ketamine=ketamine,
                 esketamine=esketamine, ketamine_lot=k.lot if k else None, esketamine_lot=e.lot if e else None)
