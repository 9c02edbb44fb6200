"""Periodic jobs: registered by apps, run at most once per period across workers, a failing job does not stop the
others; the jobs this issue moved into the worker are registered."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from ketacare.worker import periodic
from ketacare.worker.models import PeriodicJob

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test (the apps' own jobs come back afterwards)."""
    monkeypatch.setattr(periodic, "_JOBS", {})
    return periodic._JOBS


def test_the_apps_register_the_jobs_moved_into_the_worker():
    names = {job.name for job in periodic.jobs()}
    assert {"messaging.sweep", "treatment.vitals_overdue"} <= names


@pytest.mark.django_db
def test_a_job_runs_once_per_period(registry):
    calls = []
    periodic.register("test.job", dt.timedelta(minutes=5), calls.append)
    assert periodic.run_due(now=NOW) == ["test.job"]
    assert periodic.run_due(now=NOW + dt.timedelta(minutes=4, seconds=59)) == []
    assert periodic.run_due(now=NOW + dt.timedelta(minutes=5)) == ["test.job"]
    assert calls == [NOW, NOW + dt.timedelta(minutes=5)]
    row = PeriodicJob.objects.get(name="test.job")
    assert row.runs == 2 and row.next_run_at == NOW + dt.timedelta(minutes=10) and row.every_seconds == 300


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_does_not_stop_the_others(registry):
    calls = []

    def boom(now):
        raise RuntimeError("no patient data here")

    periodic.register("test.a_boom", dt.timedelta(minutes=1), boom)
    periodic.register("test.b_fine", dt.timedelta(minutes=1), calls.append)
    assert periodic.run_due(now=NOW) == ["test.a_boom", "test.b_fine"]
    assert calls == [NOW]
    assert PeriodicJob.objects.get(name="test.a_boom").last_error == "RuntimeError"
    assert PeriodicJob.objects.get(name="test.b_fine").last_error == ""


@pytest.mark.parametrize(("name", "every"), [("", dt.timedelta(minutes=1)), ("x" * 101, dt.timedelta(minutes=1)),
                                             ("test.fast", dt.timedelta(milliseconds=10))])
def test_a_job_without_a_name_or_with_a_tiny_period_is_refused(registry, name, every):
    with pytest.raises(ValueError):
        periodic.register(name, every, lambda now: None)
    assert registry == {}


@pytest.mark.django_db(transaction=True)
def test_many_workers_claiming_the_same_period_at_once_win_it_once(registry):
    """Eight threads, each with its own database connection (as eight worker processes would have), claim the
    same period of one job at the same instant: exactly one wins."""
    job = periodic.Job("test.race", dt.timedelta(minutes=1), lambda now: None)
    periodic._ensure_row(job, NOW)
    barrier, wins, errors = threading.Barrier(8), [], []

    def worker(n):
        try:
            barrier.wait()
            if periodic.claim(job, NOW, worker=f"w{n}"):
                wins.append(n)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(wins) == 1, (errors, wins, connection.vendor)
    assert PeriodicJob.objects.get(name="test.race").runs == 1
