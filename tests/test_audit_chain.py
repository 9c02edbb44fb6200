"""The audit trail's hash chains (audit/domain/chain.py): intact logs verify; rows changed, deleted or reordered with
raw SQL past the database's own refusals are named by `ketacare audit verify` (clinic, event, what differs), on
SQLite and PostgreSQL; concurrent writers in one clinic never fork a chain; the PostgreSQL application role can add
and read audit rows but not change, delete, truncate them or switch their trigger off."""

import json
import threading
import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from ketacare.audit.domain.chain import GENESIS, event_hash
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.audit.services import audit_record
from ketacare.core.db_roles import roles_sql
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db
ON_POSTGRESQL = connection.vendor == "postgresql"


def _log():
    """Five events in clinic A, three in clinic B, two with no clinic."""
    a, b = UserFactory(), UserFactory(clinic=ClinicFactory())
    events = {"a": [audit_record(actor=a, action=AuditAction.PATIENT_VIEWED, patient_id=i, data={"n": i, "x": 2.0})
                    for i in range(5)],
              "b": [audit_record(actor=b, action=AuditAction.PATIENT_UPDATED, patient_id=9) for _ in range(3)],
              "none": [audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username="k", data={"h": "ab"})
                       for _ in range(2)]}
    return a.clinic_id, b.clinic_id, events


def _verify(*args):
    with pytest.raises(CommandError) as failed:
        call_command("audit", "verify", *args)
    return str(failed.value)


def _raw(sql, params=()):
    """Raw SQL past every refusal, as someone with the database's keys could: SQLite's triggers dropped, PostgreSQL's
    skipped with session_replication_role (both undone when the test's transaction rolls back)."""
    with connection.cursor() as cursor:
        if ON_POSTGRESQL:
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            for op in ("update", "delete"):
                cursor.execute(f'DROP TRIGGER IF EXISTS "ketacare_append_only_{op}_audit_auditevent"')
        cursor.execute(sql, params)
        if ON_POSTGRESQL:
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_events_are_numbered_and_linked_per_clinic_and_an_untouched_log_verifies(capsys):
    clinic_a, _, events = _log()
    a = events["a"]
    assert [e.seq for e in a] == [1, 2, 3, 4, 5] and [e.seq for e in events["none"]] == [1, 2]
    assert a[0].prev_hash == GENESIS and all(a[i].prev_hash == a[i - 1].hash for i in range(1, 5))
    stored = AuditEvent.objects.filter(clinic_id=clinic_a).order_by("seq")
    assert [e.hash for e in stored] == [e.hash for e in a]
    call_command("audit", "verify")
    assert "audit chain intact: 3 chain(s), 10 event(s)" in capsys.readouterr().out


def test_the_database_itself_refuses_update_and_delete_of_audit_rows():
    event = audit_record(actor=UserFactory(), action=AuditAction.PATIENT_VIEWED, patient_id=1)
    for sql in ["UPDATE audit_auditevent SET action = 'tampered' WHERE id = %s",
                "DELETE FROM audit_auditevent WHERE id = %s"]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.pk])
    assert AuditEvent.objects.get().action == AuditAction.PATIENT_VIEWED


def test_a_changed_row_is_named_with_its_clinic_and_what_differs():
    clinic_a, _, events = _log()
    target = events["a"][2]
    _raw("UPDATE audit_auditevent SET patient_id = 77 WHERE id = %s", [target.pk])
    message = _verify()
    assert f"clinic {clinic_a}, event {target.pk}: its content differs" in message


def test_a_changed_detail_is_found_even_if_only_its_json_changes():
    _, clinic_b, events = _log()
    target = events["none"][1]
    _raw("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"h": "cd"}', target.pk])
    assert f"no clinic, event {target.pk}: its content differs" in _verify()


def test_a_deleted_row_leaves_a_gap_that_is_named():
    clinic_a, _, events = _log()
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events["a"][1].pk])
    message = _verify()
    assert f"clinic {clinic_a}, event {events['a'][2].pk}: event number 2 of the chain is missing" in message


def test_reordered_rows_are_found_whether_numbers_or_ids_are_swapped():
    clinic_a, clinic_b, events = _log()
    second, third = events["a"][1], events["a"][2]
    for pk, seq in [(second.pk, 1000), (third.pk, 2), (second.pk, 3)]:
        _raw("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [seq, pk])
    assert f"clinic {clinic_a}, event {third.pk}: its link to the event before differs" in _verify()
    first_b, second_b = events["b"][0], events["b"][1]
    for old, new in [(first_b.pk, -1), (second_b.pk, first_b.pk), (-1, second_b.pk)]:
        _raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [new, old])
    assert f"clinic {clinic_b}, event {first_b.pk}: stored before the event it follows" in _verify()


def test_a_chain_cut_at_its_end_or_rewritten_is_found_against_a_saved_head(tmp_path, capsys):
    clinic_a, _, events = _log()
    call_command("audit", "head")
    saved = tmp_path / "head.json"
    saved.write_text(capsys.readouterr().out)
    heads = {c["clinic_id"]: c for c in json.loads(saved.read_text())["chains"]}
    assert heads[clinic_a] == {"clinic_id": clinic_a, "clinic": events["a"][0].clinic.code,
                               "last_id": events["a"][-1].pk, "seq": 5, "hash": events["a"][-1].hash}
    call_command("audit", "verify", "--head", str(saved))
    assert "3 saved head(s) found" in capsys.readouterr().out
    last = events["a"][-1]
    # The last event rewritten with a recomputed, valid hash: only the saved head can tell.
    row = AuditEvent.objects.values().get(pk=last.pk)
    row.update(patient_id=99)
    forged = event_hash(row["prev_hash"], row)
    _raw("UPDATE audit_auditevent SET patient_id = 99, hash = %s WHERE id = %s", [forged, last.pk])
    call_command("audit", "verify")  # consistent in itself
    assert f"clinic {clinic_a}, event {last.pk}: event number 5 differs from the saved head" in _verify(
        "--head", str(saved))
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    assert "event number 5 of the saved head is gone" in _verify("--head", str(saved))


def test_a_file_that_is_not_a_head_is_refused_clearly(tmp_path):
    bad = tmp_path / "head.json"
    bad.write_text('{"clinics": []}')
    assert "not a saved audit head" in _verify("--head", str(bad))


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite has one writer at a time; the lock under test is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_in_one_clinic_never_fork_the_chain():
    user = UserFactory()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def write():
        try:
            start.wait()
            for i in range(15):
                with transaction.atomic():
                    audit_record(actor=user, action=AuditAction.PATIENT_VIEWED, patient_id=i)
                    audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username="x")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEvent.objects.filter(clinic_id=user.clinic_id).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 91))
    call_command("audit", "verify")


@pytest.mark.skipif(not ON_POSTGRESQL, reason="roles are PostgreSQL's")
def test_the_application_role_adds_and_reads_audit_rows_but_cannot_change_them_or_lift_their_defences():
    settings_dict = connection.settings_dict
    role = f"ketacare_app_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
                            user=settings_dict["USER"], dbname=settings_dict["NAME"], autocommit=True)
    try:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(roles_sql(app_role=role, migrator_role=settings_dict["USER"], database=settings_dict["NAME"],
                                create_roles=False))
        app = psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432, user=role,
                              dbname=settings_dict["NAME"])
        try:
            with app.transaction(force_rollback=True):
                app.execute("INSERT INTO audit_auditevent (at, actor_username, actor_role, action, target_type, "
                            "target_id, request_id, data, seq, prev_hash, hash) VALUES (now(), 'app', '', "
                            "'login_failed', '', '', '', '{}', 999999, '', '')")
                assert app.execute("SELECT count(*) FROM audit_auditevent WHERE seq = 999999").fetchone() == (1,)
                app.execute("SELECT pg_advisory_xact_lock(1, 1)")  # the chain's lock needs no privilege
                for sql in ["UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent",
                            "TRUNCATE audit_auditevent",
                            "ALTER TABLE audit_auditevent DISABLE TRIGGER ketacare_append_only",
                            "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
                            "DROP TRIGGER ketacare_append_only ON audit_auditevent",
                            "SET session_replication_role = replica",
                            "CREATE TABLE ketacare_intruder (x int)"]:
                    with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                        app.execute(sql)
                # and the other tables stay usable
                app.execute("SELECT count(*) FROM core_clinic").fetchone()
        finally:
            app.close()
    finally:
        admin.execute(f'DROP OWNED BY "{role}"')
        admin.execute(f'DROP ROLE "{role}"')
        admin.close()
