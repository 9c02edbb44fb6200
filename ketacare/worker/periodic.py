"""Periodic jobs: apps register them in `AppConfig.ready()`; every `ketacare worker` runs the scheduler, and each
job runs at most once per period across all workers.

    from ketacare.worker.periodic import register
    register("messaging.sweep", dt.timedelta(seconds=30), sweep)      # sweep(now) -> anything

The claim is one conditional UPDATE (`next_run_at <= now` → `next_run_at = now + every`): on PostgreSQL and on
SQLite only one concurrent worker's update matches the row, so only that worker runs the job. A job that raises is
logged (its type only: no patient data) and runs again next period.
"""

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, close_old_connections, transaction
from django.db.models import F

from ketacare.core import clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    func: Callable[[dt.datetime], object]


_JOBS: dict[str, Job] = {}


def register(name: str, every: dt.timedelta, func: Callable[[dt.datetime], object]) -> None:
    """Run `func(now)` about every `every`, at most once per period across all workers. Registering a name again
    replaces it (tests, reloads)."""
    if not name or len(name) > 100:
        raise ValueError("a periodic job needs a name of 1 to 100 characters")
    if every < dt.timedelta(seconds=1):
        raise ValueError(f"{name}: the period must be at least one second")
    _JOBS[name] = Job(name, every, func)


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda j: j.name)


def _retrying_when_locked[T](step: Callable[[], T], *, attempts: int = 200) -> T:
    """Run `step`, again after a short random pause while SQLite says the table or database is locked.

    A file database waits by itself (busy_timeout), but SQLite's shared cache (the test databases, an in-memory
    demo) reports "database table is locked" at once, whatever the timeout: without this, one of several workers
    starting together fails its claim instead of losing it. PostgreSQL never raises this; other errors pass."""
    for attempt in range(attempts):
        try:
            return step()
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.002, 0.02))
    raise AssertionError("unreachable")


def _ensure_row(job: Job, now: dt.datetime):
    from ketacare.worker.models import PeriodicJob

    every = int(job.every.total_seconds())
    row = PeriodicJob.objects.filter(name=job.name).first()
    if row is None:
        try:
            with transaction.atomic():
                row = PeriodicJob.objects.create(name=job.name, every_seconds=every, next_run_at=now)
        except IntegrityError:  # another worker created it first
            row = PeriodicJob.objects.get(name=job.name)
    elif row.every_seconds != every:
        PeriodicJob.objects.filter(pk=row.pk).update(every_seconds=every)
    return row


def claim(job: Job, now: dt.datetime, worker: str = "") -> bool:
    """True when this worker won this period of the job (and has moved the next run one period on)."""
    from ketacare.worker.models import PeriodicJob

    _retrying_when_locked(lambda: _ensure_row(job, now))
    won = _retrying_when_locked(lambda: PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=now + job.every, last_run_at=now, last_worker=worker[:64], runs=F("runs") + 1))
    return won == 1


def run_due(*, now: dt.datetime | None = None, worker: str = "") -> list[str]:
    """Run every registered job that is due and that this worker wins; return their names."""
    from ketacare.worker.models import PeriodicJob

    ran = []
    for job in jobs():
        at = now or clock.now()
        if not claim(job, at, worker):
            continue
        error = ""
        try:
            job.func(at)
        except Exception as exc:  # one failing job must not stop the others or the worker
            error = type(exc).__name__
            logger.exception("periodic job %s failed (%s)", job.name, error)
        PeriodicJob.objects.filter(name=job.name).update(last_finished_at=clock.now(), last_error=error)
        ran.append(job.name)
    return ran


class Scheduler(threading.Thread):
    """The scheduler loop, beside the task worker in the same process (its own database connection)."""

    def __init__(self, *, tick_seconds: float, worker: str) -> None:
        super().__init__(name="ketacare-scheduler", daemon=True)
        self.tick_seconds = tick_seconds
        self.worker = worker
        self.stopping = threading.Event()

    def run(self) -> None:
        logger.info("scheduler started (%s job(s): %s)", len(_JOBS), ", ".join(j.name for j in jobs()))
        while not self.stopping.is_set():
            close_old_connections()
            try:
                run_due(worker=self.worker)
            except Exception as exc:  # e.g. the database is briefly unavailable: try again next tick
                logger.warning("scheduler tick failed (%s)", type(exc).__name__)
            close_old_connections()
            self.stopping.wait(self.tick_seconds)

    def stop(self) -> None:
        self.stopping.set()
