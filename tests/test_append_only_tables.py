"""Every append-only table, one by one (the list is `append_only_models()`, the one place): bulk ORM writes are
refused on both databases, and raw SQL UPDATE/DELETE is refused by PostgreSQL itself.

The demo clinic is seeded once per module (7 s) and rolled back at the end; the few tables the demo leaves empty get
one row from `MAKERS`. A new append-only model with no row here fails `test_every_append_only_table_has_a_row`,
which says what to add.
"""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F

from ketacare.core import clock
from ketacare.core.append_only import AppendOnlyModel, ImmutableRecord, append_only_models

# The marker makes pytest-django create the test database; the module fixture seeds it once, inside a transaction
# that each test nests in and that is rolled back at the end of the module.
pytestmark = pytest.mark.django_db
ON_POSTGRESQL = connection.vendor == "postgresql"
LABELS = [m._meta.label for m in append_only_models()]


def _make_missing(users: dict) -> None:
    """One row for each table the demo does not fill, through the ORM (the rules under test are the table's)."""
    from ketacare.accounts.models import MfaSetting
    from ketacare.instruments.models import ImportedInstrument, SafetyThresholdSetting
    from ketacare.messaging.models import DeliveryAttempt, Message
    from ketacare.outcomes.models import OutcomeSetting, ProgressLetter
    from ketacare.portal.models import PatientScheduleSetting, PortalSetting
    from ketacare.safety.models import Alert, AlertNotification, OnCallSetting
    from ketacare.screening.models import EligibilitySetting
    from ketacare.treatment.models import (
        AdverseEvent,
        DosingSession,
        ProtocolSetting,
        SessionAddendum,
        SuicideRiskClearance,
    )

    admin, prescriber = users["admin"], users["prescriber"]
    clinic_id, now = admin.clinic_id, clock.now()
    revision = {"clinic_id": clinic_id, "revision": 1, "overrides": {}, "reason": "test", "created_by": admin,
                "created_at": now}
    def delivery_attempt():
        message = Message.objects.create(clinic_id=clinic_id, channel="email", to_address="a@example.test",
                                         body="test", purpose="test", message_id="<t@x>", next_attempt_at=now,
                                         created_at=now)
        return DeliveryAttempt.objects.create(clinic_id=clinic_id, message=message, number=1, started_at=now,
                                              finished_at=now, outcome="sent")

    makers = {
        DeliveryAttempt: delivery_attempt,
        OnCallSetting: lambda: OnCallSetting.objects.create(
            clinic_id=clinic_id, revision=1, reason="test", created_by=admin, created_at=now,
            fallback_clinician=prescriber, escalation_delay_minutes=15),
        AlertNotification: lambda: AlertNotification.objects.create(
            clinic_id=clinic_id, alert=Alert.objects.filter(clinic_id=clinic_id).first(), tier=9, recipient=prescriber,
            channel="email", reason="test", created_at=now),
        ImportedInstrument: lambda: ImportedInstrument.objects.create(
            key="test-instrument", version="1", title="Test", source={}, source_sha256="0" * 64, imported_at=now),
        SafetyThresholdSetting: lambda: SafetyThresholdSetting.objects.create(**revision),
        EligibilitySetting: lambda: EligibilitySetting.objects.create(**revision),
        ProtocolSetting: lambda: ProtocolSetting.objects.create(protocol_ref="test", **revision),
        OutcomeSetting: lambda: OutcomeSetting.objects.create(
            instrument_key="phq-9", clinic_id=clinic_id, revision=1, reason="test", created_by=admin,
            created_at=now),
        ProgressLetter: lambda: ProgressLetter.objects.create(
            clinic_id=clinic_id, patient=Alert.objects.filter(clinic_id=clinic_id).first().patient, status="sent",
            recipient_name="Dr Test", summary="Summary", snapshot={}, created_by=prescriber, created_at=now,
            updated_by=prescriber, updated_at=now, sent_by=prescriber, sent_at=now, sent_via="fax"),
        SessionAddendum: lambda: SessionAddendum.objects.create(
            clinic_id=clinic_id, session=DosingSession.objects.filter(clinic_id=clinic_id).first(), text="late entry",
            by=prescriber, at=now),
        SuicideRiskClearance: lambda: SuicideRiskClearance.objects.create(
            clinic_id=clinic_id, alert=Alert.objects.filter(clinic_id=clinic_id).first(), cleared_by=prescriber,
            cleared_at=now, note="cleared"),
        PatientScheduleSetting: lambda: PatientScheduleSetting.objects.create(
            patient=Alert.objects.filter(clinic_id=clinic_id).first().patient, **revision),
        MfaSetting: lambda: MfaSetting.objects.create(
            required_for_all=True, **{k: v for k, v in revision.items() if k != "overrides"}),
        PortalSetting: lambda: PortalSetting.objects.create(
            crisis_resources=[{"label": "Lifeline", "contact": "988"}], missed_in_a_row=3,
            **{k: v for k, v in revision.items() if k != "overrides"}),
        AdverseEvent: lambda: AdverseEvent.objects.create(
            clinic_id=clinic_id, session=DosingSession.objects.filter(clinic_id=clinic_id).first(),
            description="nausea", severity="mild", onset_at=now - dt.timedelta(hours=1), resolved_at=now,
            action_taken="resolved without treatment", recorded_by=prescriber, recorded_at=now),
    }

    def ledger_rows():
        # A stock received, counted short (a Count, its entries and an open Discrepancy).
        from ketacare.ledger.services import ledger_count
        from ketacare.ledger.tests.factories import make_stock

        stock = make_stock(clinic=admin.clinic)
        ledger_count(actor=stock.admin, location=stock.safe, time_of_day="close",
                     counted={stock.ketamine_lot.pk: "19.6", stock.esketamine_lot.pk: "6"})

    from ketacare.ledger.models import Count, Discrepancy, LedgerEntry, LedgerSetting

    makers.update({LedgerEntry: ledger_rows, Count: ledger_rows, Discrepancy: ledger_rows,
                   LedgerSetting: lambda: LedgerSetting.objects.create(preset="iowa", **revision)})
    synthea = next((Path(__file__).resolve().parents[1] / "fixtures" / "external" / "synthea").glob("Edward_*.json"))
    from ketacare.interop.models import ExternalIdentity, ImportedMedication, ImportedObservation, ImportRun
    from ketacare.interop.services import bundle_import

    def import_synthea():
        if not ImportRun.objects.exists():
            bundle_import(actor=prescriber, bundle=json.loads(synthea.read_text()), source_name=synthea.name)

    makers |= dict.fromkeys((ImportRun, ExternalIdentity, ImportedObservation, ImportedMedication), import_synthea)
    for model, make in makers.items():
        final = model._default_manager.all()
        if model.append_only_frozen_by:
            final = final.exclude(**{f"{model.append_only_frozen_by}__isnull": True})
        if not final.exists():
            make()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    from ketacare.seed.demo import seed_demo

    with django_db_blocker.unblock(), transaction.atomic():
        _clinic, users = seed_demo(password="table-test-password")
        _make_missing({u.username: u for u in users})
        yield
        transaction.set_rollback(True)


def _model(label: str) -> type[AppendOnlyModel]:
    return next(m for m in append_only_models() if m._meta.label == label)


def _final_row(model: type[AppendOnlyModel]) -> AppendOnlyModel:
    """A row in its final state: for a model frozen by a column, one where that column is set."""
    rows = model._default_manager.order_by("pk")
    if model.append_only_frozen_by:
        rows = rows.exclude(**{f"{model.append_only_frozen_by}__isnull": True})
        if isinstance(model._meta.get_field(model.append_only_frozen_by), models.CharField):
            rows = rows.exclude(**{model.append_only_frozen_by: ""})
    row = rows.first()
    assert row is not None, f"{model._meta.label}: no row in its final state to test; add one to MAKERS"
    return row


def _changeable_column(model: type[AppendOnlyModel], row: AppendOnlyModel) -> tuple[models.Field, str]:
    """A column the rules freeze, with SQL that changes its stored value (NULLs would not change)."""
    allowed = set(model.append_only_mutable_once)
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in allowed or getattr(row, field.attname) is None:
            continue
        column = connection.ops.quote_name(field.column)
        if isinstance(field, models.DateTimeField):
            return field, f"{column} = {column} + interval '1 minute'"
        if isinstance(field, models.DateField):
            return field, f"{column} = {column} + 1"
        if isinstance(field, models.BooleanField):
            return field, f"{column} = NOT {column}"
    raise AssertionError(f"{model._meta.label}: no date, time or boolean column to change")


def test_every_append_only_table_has_a_row(seeded):
    empty = [m._meta.label for m in append_only_models() if not m._default_manager.exists()]
    assert not empty, f"add a maker for {empty} in _make_missing()"


@pytest.mark.parametrize("label", LABELS)
def test_bulk_orm_writes_are_refused_through_every_manager(seeded, label):
    model = _model(label)
    before = model._default_manager.count()
    for manager in (model._default_manager, model._base_manager):
        with pytest.raises(ImmutableRecord):
            manager.all().update(pk=F("pk"))
        with pytest.raises(ImmutableRecord):
            manager.all().delete()
        with pytest.raises(ImmutableRecord):
            manager.bulk_update(list(manager.all()[:1]), [model._meta.concrete_fields[1].name])
    row = _final_row(model)
    with pytest.raises(ImmutableRecord):
        row.delete()
    assert model._default_manager.count() == before


@pytest.mark.parametrize("label", LABELS)
def test_a_final_row_refuses_a_change_through_save(seeded, label):
    model = _model(label)
    row = _final_row(model)
    field, _sql = _changeable_column(model, row)
    value = getattr(row, field.attname)
    if isinstance(field, models.BooleanField):
        setattr(row, field.attname, not value)
    elif isinstance(field, models.DateTimeField):
        setattr(row, field.attname, value + dt.timedelta(minutes=1))
    else:
        setattr(row, field.attname, value + dt.timedelta(days=1))
    with pytest.raises(ImmutableRecord):
        row.save()
    assert getattr(model._default_manager.get(pk=row.pk), field.attname) == value


@pytest.mark.skipif(not ON_POSTGRESQL, reason="raw SQL is refused by PostgreSQL triggers; SQLite has ORM rules only")
@pytest.mark.parametrize("label", LABELS)
def test_postgresql_refuses_raw_update_and_delete(seeded, label):
    model = _model(label)
    row = _final_row(model)
    field, assignment = _changeable_column(model, row)
    table = connection.ops.quote_name(model._meta.db_table)
    for sql in (f"UPDATE {table} SET {assignment} WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only|is final|set once|refused"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    assert getattr(model._default_manager.get(pk=row.pk), field.attname) == getattr(row, field.attname)
