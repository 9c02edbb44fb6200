"""Reading reports from a replica: `with reporting_reads():` sends the ORM's reads inside it to the database alias
"replica" when `DATABASE_REPLICA_URL` configures one; every write, and every read outside it, stays on "default".

A replica lags its primary by a little: only aggregate reports (the clinic and research outcome reports) read there,
never a page that shows what a user has just written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings

REPLICA = "replica"
_reporting: ContextVar[bool] = ContextVar("ketacare_reporting_reads", default=False)


@contextlib.contextmanager
def reporting_reads() -> Iterator[str]:
    """Inside: reads go to the replica if there is one. Yields the alias the reads use."""
    token = _reporting.set(True)
    try:
        yield REPLICA if REPLICA in settings.DATABASES else "default"
    finally:
        _reporting.reset(token)


class ReplicaRouter:
    """Django database router (settings.DATABASE_ROUTERS)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if _reporting.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default"
