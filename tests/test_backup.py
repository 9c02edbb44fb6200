"""`ketacare backup` / `ketacare restore` round-trip the demo clinic on each database: every table has the same rows
afterwards and the audit chain verifies; a database that is not empty is refused unless --force; a file that is not a
backup, or one of the other database, is refused with a clear message."""

import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ketacare.audit.backup import BackupError, restore, row_counts, verify_audit
from ketacare.audit.models import AuditEvent

ON_POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture
def target(tmp_path):
    """Settings of another, empty database of the same kind."""
    if not ON_POSTGRESQL:
        yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "restored.sqlite3")}
        return
    settings_dict = dict(connection.settings_dict)
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432, user=settings_dict["USER"],
                         dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield {**settings_dict, "NAME": name}
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_the_demo_clinic_round_trips_with_every_row_and_an_intact_audit_chain(tmp_path, target, capsys):
    from ketacare.seed.demo import seed_demo

    seed_demo(password="backup-test-password")
    assert AuditEvent.objects.count() > 50
    out = tmp_path / "ketacare.backup"
    call_command("backup", "--out", str(out))
    assert "backed up to" in capsys.readouterr().out
    original = row_counts(connection.settings_dict)
    assert original["audit_auditevent"] == AuditEvent.objects.count() and original["patients_patient"] > 0

    events = restore(target, out)
    assert events == AuditEvent.objects.count()
    assert row_counts(target) == original
    assert verify_audit(target) == ([], events)

    with pytest.raises(BackupError, match="is not empty .* pass --force"):
        restore(target, out)
    assert restore(target, out, force=True) == events
    assert row_counts(target) == original

    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", "--out", str(out))
    with pytest.raises(CommandError, match="is not empty"):
        call_command("restore", str(out))  # the suite's own database has the demo in it


@pytest.mark.django_db
def test_a_file_that_is_not_a_backup_or_is_the_other_databases_is_refused(tmp_path, target):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(BackupError, match="is not a KetaCare backup"):
        restore(target, junk)
    other = tmp_path / "other.backup"
    other.write_bytes(b"SQLite format 3\x00" if ON_POSTGRESQL else b"PGDMP\x01\x0e")
    with pytest.raises(BackupError, match="backup and the database is"):
        restore(target, other)
