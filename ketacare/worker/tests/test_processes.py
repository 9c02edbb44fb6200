"""Acceptance 3 with real processes: `ketacare worker` killed with SIGKILL in the middle of a batch of 200 due
messages and started again delivers every message, loses none, and sends a duplicate only for the message in
flight at the kill, with the same Message-ID; two workers at once send each message once.

The mail goes through Django's SMTP backend to a real SMTP server in the test (aiosmtpd, tests/smtp.py).
"""

import collections
import os
import signal
import time

import pytest

from tests.processes import ProcessDb, kill
from tests.smtp import SmtpServer

pytestmark = pytest.mark.django_db  # only for the vendor of the test database; the processes use their own

BATCH = 200
SEED = """
import json
from django.db import transaction
from ketacare.core.models import Clinic
from ketacare.messaging.services import enqueue
clinic, _ = Clinic.objects.get_or_create(code="{code}", defaults={{"name": "Process Clinic {code}"}})
with transaction.atomic():
    for n in range({batch}):
        enqueue(clinic=clinic, channel="email", to=f"p{{n}}@example.test", subject="Check-in", purpose="test.batch",
                body=f"Process Clinic: message {{n}}.")
print(json.dumps({batch}))
"""
STATE = """
import json
from ketacare.messaging.models import Message, DeliveryAttempt
rows = list(Message.objects.filter(clinic__code="{code}").values_list("message_id", "status"))
workers = DeliveryAttempt.objects.filter(clinic__code="{code}").values_list("worker", flat=True)
print(json.dumps({{"ids": sorted(m for m, _ in rows), "statuses": sorted({{s for _, s in rows}}),
                  "workers": sorted(set(workers))}}))
"""
FAST = {"KETACARE_MESSAGING_LEASE_SECONDS": "3", "KETACARE_MESSAGING_SWEEP_SECONDS": "1",
        "KETACARE_MESSAGING_SWEEP_GRACE_SECONDS": "30"}


@pytest.fixture(scope="module")
def procdb(tmp_path_factory):
    """One database for the module (a migrate takes seconds); each test seeds a clinic of its own."""
    db = ProcessDb(tmp_path_factory.mktemp("procdb")).create()
    yield db
    db.drop()


@pytest.fixture(autouse=True)
def _stop_workers(procdb):
    yield
    for process in procdb.processes:
        kill(process)
    procdb.processes.clear()


def _all_sent(db: ProcessDb, code: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = db.shell(STATE.format(code=code))
        if state["statuses"] == ["sent"] or time.monotonic() > deadline:
            return state
        time.sleep(1)


def test_a_worker_killed_mid_batch_and_restarted_delivers_every_message_once_but_the_one_in_flight(procdb):
    with SmtpServer(delay=0.02) as smtp:
        env = {"EMAIL_URL": smtp.url, **FAST}
        procdb.shell(SEED.format(code="kill", batch=BATCH))
        first = procdb.start_worker("first", **env)
        smtp.wait_for(lambda m: len(m) >= BATCH // 3, timeout=120)
        kill(first, signal.SIGKILL)
        at_kill = len(smtp.snapshot())
        assert at_kill < BATCH, "the worker finished before the kill: the test proves nothing"
        procdb.start_worker("second", **env)
        smtp.wait_for(lambda m: len({x["Message-ID"] for x in m}) >= BATCH, timeout=180)
        state = _all_sent(procdb, "kill", timeout=60)
        received = collections.Counter(x["Message-ID"] for x in smtp.snapshot())
    assert state["statuses"] == ["sent"]
    assert sorted(received) == state["ids"] and len(state["ids"]) == BATCH  # none lost, none invented
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    # at most one message was in flight at the kill; it is the only one that may arrive twice, same Message-ID
    assert sum(received.values()) - BATCH == sum(n - 1 for n in duplicates.values()) <= 1
    assert all(n == 2 for n in duplicates.values())
    assert "second" in state["workers"] and "first" in state["workers"]


def test_two_workers_at_once_send_each_message_once(procdb):
    with SmtpServer(delay=0.01) as smtp:
        env = {"EMAIL_URL": smtp.url, **FAST}
        procdb.shell(SEED.format(code="two", batch=BATCH))
        procdb.start_worker("one", **env)
        procdb.start_worker("two", **env)
        smtp.wait_for(lambda m: len(m) >= BATCH, timeout=180)
        state = _all_sent(procdb, "two", timeout=60)
        time.sleep(2)  # a duplicate would come now, after the lease of a (wrongly) double-claimed message
        received = collections.Counter(x["Message-ID"] for x in smtp.snapshot())
    assert state["statuses"] == ["sent"] and sorted(received) == state["ids"]
    assert set(received.values()) == {1}, "a message was sent twice"
    assert {"one", "two"} <= set(state["workers"]), "both workers should have sent some of the batch"


def test_ctrl_c_stops_the_worker_and_its_scheduler(procdb):
    worker = procdb.start_worker("polite")
    deadline = time.monotonic() + 60
    while "Starting worker" not in worker.log_path.read_text():  # db_worker has installed its signal handlers
        assert time.monotonic() < deadline and worker.poll() is None, worker.log_path.read_text()
        time.sleep(0.2)
    os.killpg(worker.pid, signal.SIGINT)
    assert worker.wait(timeout=20) == 0
    log = worker.log_path.read_text()
    assert "scheduler started" in log and "messaging.sweep" in log and "shutting down gracefully" in log
