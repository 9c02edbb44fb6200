"""`ketacare worker`: the django-tasks-db worker (its own `db_worker` command) plus the periodic scheduler.

Run one or several; they share the work through the database (tasks are claimed with SELECT ... FOR UPDATE SKIP
LOCKED by django-tasks-db, periodic jobs by a conditional update, see ketacare/worker/periodic.py).
"""

import logging
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.db.utils import OperationalError
from django.utils.crypto import get_random_string
from django_tasks_db.utils import is_locked_database_exception

from ketacare.worker.periodic import Scheduler

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run background tasks and the periodic jobs (reminders, escalation, overdue vitals, outbox sweep)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--worker-id", default="", help="Unique per worker (default: generated)")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds to wait when no task is queued (default 1)")
        parser.add_argument("--tick", type=float, default=None,
                            help="Seconds between scheduler passes (default KETACARE_WORKER_TICK_SECONDS)")
        parser.add_argument("--no-scheduler", action="store_true", help="Run tasks only, no periodic jobs")
        parser.add_argument("--batch", action="store_true", help="Run the queued tasks, then exit")

    def handle(self, *, worker_id: str, interval: float, tick: float | None, no_scheduler: bool, batch: bool,
               verbosity: int, **options) -> None:
        worker_id = worker_id or f"w-{get_random_string(12)}"
        scheduler = None
        if not no_scheduler:
            scheduler = Scheduler(tick_seconds=tick or settings.KETACARE_WORKER_TICK_SECONDS, worker=worker_id)
            scheduler.start()
        self.stdout.write(f"worker {worker_id} started (scheduler {'off' if no_scheduler else 'on'})")
        try:
            while True:
                try:
                    call_command("db_worker", worker_id=worker_id, interval=interval, batch=batch, reload=False,
                                 startup_delay=False, verbosity=verbosity)
                    break
                except OperationalError as exc:
                    # On SQLite, db_worker's BEGIN IMMEDIATE can outwait the busy timeout while another process
                    # writes; db_worker lets that one through, so the loop is started again instead of dying.
                    if not is_locked_database_exception(exc):
                        raise
                    logger.warning("worker %s: database locked, the task loop starts again", worker_id)
                    close_old_connections()
                    time.sleep(1)
        finally:
            if scheduler is not None:
                scheduler.stop()
