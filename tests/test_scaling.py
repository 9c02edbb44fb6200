"""More than one machine: reports read from a replica through a router; every clinical table is keyed by clinic so
that a network can be distributed by clinic (docs/scaling.md)."""

import json
import os
import subprocess
import sys

import pytest
from django.apps import apps
from django.db import connection

from ketacare.core.db import REPLICA, ReplicaRouter, reporting_reads
from ketacare.core.models import Clinic

# Tables that are not keyed by clinic, and why (docs/scaling.md, "reference and global tables"). A new model must
# either carry `clinic` or be named here: the distribution plan depends on it.
NOT_CLINIC_KEYED = {
    "core.clinic": "the distribution key itself",
    "auth.permission": "Django's reference table",
    "auth.group": "Django's reference table",
    "contenttypes.contenttype": "Django's reference table",
    "sessions.session": "sign-in state, by session key",
    "django_tasks_database.dbtaskresult": "the job queue (jobs name their clinic in their arguments)",
    "accounts.apitoken": "keyed through its user, who belongs to one clinic",
    "accounts.loginfailure": "sign-in throttling, by username before anyone is known",
    "worker.periodicjob": "the scheduler's own rows, one per periodic job of the whole installation",
    "accounts.recoverycode": "keyed through its user, who belongs to one clinic",
    "otp_totp.totpdevice": "django-otp's second-factor devices, keyed through their user",
}


def _clinic_keyed(model) -> bool:
    return any(f.name == "clinic" and f.is_relation and f.related_model is Clinic for f in model._meta.concrete_fields)


def test_every_table_is_keyed_by_clinic_or_named_as_global():
    unkeyed = {m._meta.label_lower for m in apps.get_models() if not m._meta.proxy and not _clinic_keyed(m)}
    allowed = set(NOT_CLINIC_KEYED)
    assert unkeyed - allowed == set(), "add `clinic` (ClinicOwned) or name the table in NOT_CLINIC_KEYED"
    assert allowed - unkeyed == set(), "a table named global is clinic-keyed now: drop it from the list"


def test_reads_go_to_the_replica_only_inside_reporting_reads(settings, monkeypatch):
    router = ReplicaRouter()
    monkeypatch.setitem(settings.DATABASES, REPLICA, settings.DATABASES["default"])
    assert router.db_for_read(Clinic) is None
    with reporting_reads() as alias:
        assert alias == REPLICA
        assert router.db_for_read(Clinic) == REPLICA
        assert router.db_for_write(Clinic) == "default"
    assert router.db_for_read(Clinic) is None
    assert router.allow_migrate(REPLICA, "core") is False and router.allow_migrate("default", "core") is True


def test_without_a_replica_reports_read_from_the_default_database(settings):
    assert REPLICA not in settings.DATABASES
    with reporting_reads() as alias:
        assert alias == "default"
        assert ReplicaRouter().db_for_read(Clinic) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a replica is a PostgreSQL server (SQLite has none)")
@pytest.mark.django_db(transaction=True)
def test_the_clinic_report_reads_through_a_separate_replica_connection():
    """DATABASE_REPLICA_URL pointed at the same server: the report's aggregate queries run on the replica alias."""
    from tests.factories import ClinicFactory

    clinic = ClinicFactory()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    code = f"""
import json
from django.db import connections
from django.test.utils import CaptureQueriesContext
from ketacare.core.db import reporting_reads
from ketacare.outcomes import selectors
with CaptureQueriesContext(connections['replica']) as replica, CaptureQueriesContext(connections['default']) as main:
    with reporting_reads():
        selectors.cohort_aggregate(clinic_id={clinic.pk}, cohort=selectors.CohortFilter())
print(json.dumps({{"replica": len(replica.captured_queries), "default": len(main.captured_queries),
                  "same": connections['replica'].connection is connections['default'].connection}}))
"""
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_REPLICA_URL": url, "KETACARE_DEBUG": "False"}
    out = subprocess.run([sys.executable, "-m", "ketacare.manage", "shell", "-c", code], env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["replica"] >= 1 and counts["default"] == 0 and counts["same"] is False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the connection pool is psycopg's (PostgreSQL)")
def test_the_connection_pool_is_used_when_configured():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    code = ("from django.db import connection; connection.ensure_connection(); "
            "print(type(connection.pool).__name__, connection.settings_dict['CONN_MAX_AGE'])")
    env = {**os.environ, "DATABASE_URL": url, "KETACARE_DB_POOL": "True", "KETACARE_DEBUG": "False"}
    out = subprocess.run([sys.executable, "-m", "ketacare.manage", "shell", "-c", code], env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert out.strip().splitlines()[-1] == "ConnectionPool 0"
