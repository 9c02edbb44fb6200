"""`ketacare worker` runs django-tasks-db's own db_worker, and starts it again when SQLite reports a locked database
(db_worker lets the error of its BEGIN IMMEDIATE through); any other database error stops the worker."""

import pytest
from django.core.management import call_command
from django.db.utils import OperationalError

from ketacare.worker.management.commands import worker as command

pytestmark = pytest.mark.django_db  # the loop closes stale connections between starts


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(command.time, "sleep", lambda s: None)


def test_the_task_loop_starts_again_after_a_locked_database(monkeypatch, no_sleep):
    calls = []

    def fake_call_command(name, **options):
        calls.append((name, options["worker_id"], options["reload"]))
        if len(calls) < 3:
            raise OperationalError("database is locked")

    monkeypatch.setattr(command, "call_command", fake_call_command)
    call_command("worker", worker_id="w-test", no_scheduler=True)
    assert calls == [("db_worker", "w-test", False)] * 3


def test_another_database_error_stops_the_worker(monkeypatch, no_sleep):
    def fake_call_command(name, **options):
        raise OperationalError("no such table: django_tasks_database_dbtaskresult")

    monkeypatch.setattr(command, "call_command", fake_call_command)
    with pytest.raises(OperationalError, match="no such table"):
        call_command("worker", worker_id="w-test", no_scheduler=True)
