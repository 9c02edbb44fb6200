"""The append-only primitive: the ORM refuses every path that would change or remove a row; PostgreSQL refuses raw
UPDATE/DELETE through a trigger installed after migrate."""

import pytest
from django.db import DatabaseError, connection, transaction

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.audit.services import audit_record
from ketacare.core.append_only import ImmutableRecord, append_only_models, install_triggers

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username="someone")


def test_a_stored_row_cannot_be_saved_with_changes_or_deleted(event):
    event.actor_username = "changed"
    with pytest.raises(ImmutableRecord):
        event.save()
    with pytest.raises(ImmutableRecord):
        event.delete()


def test_saving_an_unchanged_stored_row_is_a_no_op(event):
    event.save()
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "someone"


@pytest.mark.parametrize("manager", ["objects", "_base_manager", "_default_manager"])
def test_bulk_update_and_delete_are_refused_through_every_manager(event, manager):
    qs = getattr(AuditEvent, manager).all()
    with pytest.raises(ImmutableRecord):
        qs.update(actor_username="x")
    with pytest.raises(ImmutableRecord):
        qs.delete()
    with pytest.raises(ImmutableRecord):
        qs.bulk_update([event], ["actor_username"])
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "someone"


def test_audit_events_are_in_the_one_list_of_append_only_tables():
    assert AuditEvent in append_only_models()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database triggers are PostgreSQL's (SQLite: ORM only)")
@pytest.mark.parametrize("sql", ["UPDATE audit_auditevent SET actor_username = 'x' WHERE id = %s",
                                 "DELETE FROM audit_auditevent WHERE id = %s"])
def test_postgresql_refuses_raw_update_and_delete(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "someone"


def test_installing_the_triggers_is_idempotent():
    first = install_triggers()
    assert install_triggers() == first
    if connection.vendor == "postgresql":
        assert "audit_auditevent" in first
