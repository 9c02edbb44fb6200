"""The outbox: enqueue (idempotent, refused when wrong, sent after commit) and deliver (real SMTP, retries with
backoff, leases, one attempt row per try)."""

import datetime as dt
import json
import socket

import pytest
import time_machine
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.messaging import services
from ketacare.messaging.choices import AttemptOutcome, MessageStatus
from ketacare.messaging.models import DeliveryAttempt, Message
from ketacare.messaging.services import MessageRefused, deliver, enqueue, sweep
from ketacare.messaging.sms import FileSmsBackend, SmsError, TwilioSmsBackend
from tests.factories import ClinicFactory
from tests.smtp import SmtpServer, free_port

pytestmark = pytest.mark.django_db

EMAIL = {"channel": "email", "to": "sam@example.test", "subject": "Your check-in", "purpose": "test.reminder",
         "body": "Riverside: Sam, a short check-in is ready."}


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        settings.MAILERS = server.mailers()
        yield server


def test_the_same_key_twice_returns_the_first_message_and_queues_one(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = enqueue(clinic=clinic, key="reminder:1", **EMAIL)
        second = enqueue(clinic=clinic, key="reminder:1", **{**EMAIL, "body": "Riverside: a different text."})
    assert second.pk == first.pk and second.body == EMAIL["body"]
    assert Message.objects.count() == 1 and len(callbacks) == 1
    assert DBTaskResult.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.MESSAGE_QUEUED).count() == 1


def test_the_same_key_in_another_clinic_is_another_message(clinic):
    enqueue(clinic=clinic, key="k", **EMAIL)
    enqueue(clinic=ClinicFactory(), key="k", **EMAIL)
    assert Message.objects.count() == 2


def test_a_message_gets_a_unique_rfc5322_message_id(clinic, settings):
    settings.KETACARE_MESSAGE_ID_DOMAIN = "clinic.example"
    ids = {enqueue(clinic=clinic, **EMAIL).message_id for _ in range(5)}
    assert len(ids) == 5 and all(i.startswith("<") and i.endswith("@clinic.example>") for i in ids)


def test_a_rolled_back_caller_sends_nothing(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue(clinic=clinic, **EMAIL)
            raise RuntimeError
    assert not callbacks and not Message.objects.exists() and not DBTaskResult.objects.exists()


@pytest.mark.parametrize(("change", "says"), [
    ({"to": "not-an-address"}, "valid email"),
    ({"channel": "sms", "to": "555-1234", "subject": ""}, "international form"),
    ({"channel": "sms", "to": "+15551234567"}, "no subject"),
    ({"channel": "fax"}, "Unknown channel"),
    ({"body": "  "}, "empty"),
    ({"body": "Your ketamine dose is tomorrow"}, "dose, ketamine"),
    ({"subject": "PHQ-9 results"}, "phq-9"),
    ({"purpose": ""}, "purpose"),
])
def test_a_bad_message_is_refused_with_a_reason_and_writes_nothing(clinic, change, says):
    with pytest.raises(MessageRefused, match=says):
        enqueue(clinic=clinic, **{**EMAIL, **change})
    assert not Message.objects.exists() and not AuditEvent.objects.exists()


def test_the_clinic_may_name_itself_even_with_a_drug_in_its_name(clinic):
    clinic.name = "Maple Ketamine Clinic"
    clinic.save()
    message = enqueue(clinic=clinic, **{**EMAIL, "body": "Maple Ketamine Clinic: Sam, a check-in is ready."})
    assert message.status == MessageStatus.QUEUED


def test_deliver_sends_through_a_real_smtp_server_with_the_message_id(clinic, smtp):
    message = enqueue(clinic=clinic, **EMAIL)
    assert deliver(message_id=message.pk) == "sent"
    received = smtp.wait_for(lambda m: len(m) == 1, timeout=10)[0]
    assert received["Message-ID"] == message.message_id and received["Subject"] == EMAIL["subject"]
    assert smtp.recipients == [["sam@example.test"]]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at and message.attempts == 1
    assert [(a.number, a.outcome) for a in message.delivery_attempts.all()] == [(1, AttemptOutcome.SENT)]


def test_a_sent_message_is_not_sent_again(clinic, smtp):
    message = enqueue(clinic=clinic, **EMAIL)
    deliver(message_id=message.pk)
    assert deliver(message_id=message.pk) == "skipped"
    assert len(smtp.snapshot()) == 1 and DeliveryAttempt.objects.count() == 1


def test_a_failed_send_is_retried_with_backoff_then_given_up(clinic, settings, django_capture_on_commit_callbacks):
    closed = free_port()  # nothing listens here: the connection is refused
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": closed, "timeout": 2}}}
    settings.KETACARE_MESSAGING_MAX_ATTEMPTS, settings.KETACARE_MESSAGING_RETRY_BASE_SECONDS = 3, 30
    start = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        message = enqueue(clinic=clinic, **EMAIL)
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(message_id=message.pk) == "retry"
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.next_attempt_at == start + dt.timedelta(seconds=30)
        assert deliver(message_id=message.pk) == "skipped"  # not due yet
        traveller.shift(dt.timedelta(seconds=30))
        assert deliver(message_id=message.pk) == "retry"
        message.refresh_from_db()
        assert message.next_attempt_at == start + dt.timedelta(seconds=90)  # 30 s, then 60 s
        traveller.shift(dt.timedelta(seconds=60))
        assert deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    attempts = list(message.delivery_attempts.all())
    assert message.status == MessageStatus.FAILED and message.attempts == 3
    assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED, AttemptOutcome.FAILED, AttemptOutcome.GAVE_UP]
    assert all(a.error and "sam@example.test" not in a.error for a in attempts)
    # the first retry was handed to the worker as a task deferred to the next attempt's time
    assert list(DBTaskResult.objects.values_list("run_after", flat=True)) == [start + dt.timedelta(seconds=30)]


def test_a_message_being_sent_is_left_alone_until_its_lease_runs_out(clinic, smtp, settings):
    settings.KETACARE_MESSAGING_LEASE_SECONDS = 60
    start = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        message = enqueue(clinic=clinic, **EMAIL)
        assert services._claim(message.pk, start) is not None  # a worker claimed it, then died mid-send
        assert deliver(message_id=message.pk) == "skipped"
        assert sweep(start) == 0
        traveller.shift(dt.timedelta(seconds=61))
        assert sweep(start + dt.timedelta(seconds=61)) == 1
        assert deliver(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.attempts == 2 and smtp.snapshot()[0]["Message-ID"] == message.message_id


def test_the_sweep_picks_up_a_queued_message_whose_task_was_lost(clinic, settings):
    settings.KETACARE_MESSAGING_SWEEP_GRACE_SECONDS = 60
    message = enqueue(clinic=clinic, **EMAIL)
    tasks_before = DBTaskResult.objects.count()
    assert sweep(message.next_attempt_at + dt.timedelta(seconds=30)) == 0
    assert sweep(message.next_attempt_at + dt.timedelta(seconds=61)) == 1
    assert DBTaskResult.objects.count() == tasks_before + 1


def test_a_backlog_of_waiting_tasks_is_not_swept_but_an_expired_lease_is(clinic, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.KETACARE_MESSAGING_SWEEP_GRACE_SECONDS, settings.KETACARE_MESSAGING_LEASE_SECONDS = 60, 60
    with django_capture_on_commit_callbacks(execute=True):
        waiting = enqueue(clinic=clinic, **EMAIL)  # its task is in the queue, the worker is just busy
        in_flight = enqueue(clinic=clinic, **{**EMAIL, "to": "kim@example.test"})
    assert services._claim(in_flight.pk, in_flight.next_attempt_at) is not None
    later = waiting.next_attempt_at + dt.timedelta(minutes=5)
    tasks_before = DBTaskResult.objects.count()
    assert sweep(later) == 1  # only the message whose lease ran out
    assert DBTaskResult.objects.count() == tasks_before + 1


def test_sms_goes_through_the_configured_backend(clinic, settings, tmp_path):
    settings.KETACARE_SMS_FILE = str(tmp_path / "sms.jsonl")
    message = enqueue(clinic=clinic, channel="sms", to="+15551234567", subject="", purpose="test.sms",
                      body="Riverside: an urgent alert needs you.")
    assert deliver(message_id=message.pk) == "sent"
    lines = [json.loads(x) for x in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert lines == [{"to": "+15551234567", "body": message.body, "message_id": message.message_id,
                      "at": lines[0]["at"]}]


def test_the_file_backend_appends_whole_lines(tmp_path):
    backend = FileSmsBackend(tmp_path / "sms.jsonl")
    for n in range(3):
        backend.send(to="+15551234567", body=f"text {n}", message_id=f"<{n}@x>")
    assert [json.loads(x)["body"] for x in (tmp_path / "sms.jsonl").read_text().splitlines()] == [
        "text 0", "text 1", "text 2"]


class _FakeResponse:
    def __init__(self, status, payload):
        self.status, self.payload = status, payload

    def read(self):
        return json.dumps(self.payload).encode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_twilio_adapter_posts_the_documented_request():
    seen = []

    def opener(request, timeout):
        seen.append(request)
        return _FakeResponse(201, {"sid": "SM123"})

    backend = TwilioSmsBackend(account_sid="AC1", auth_token="secret", from_number="+15550000000", opener=opener)
    assert backend.send(to="+15551234567", body="hello", message_id="<1@x>") == "SM123"
    request = seen[0]
    assert request.full_url == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert request.get_method() == "POST"
    assert request.data == b"To=%2B15551234567&From=%2B15550000000&Body=hello"
    assert request.get_header("Authorization") == "Basic QUMxOnNlY3JldA=="


def test_the_twilio_adapter_raises_when_the_message_is_not_accepted():
    backend = TwilioSmsBackend(account_sid="AC1", auth_token="t", from_number="+15550000000",
                               opener=lambda request, timeout: _FakeResponse(400, {"code": 21211}))
    with pytest.raises(SmsError, match="400"):
        backend.send(to="+15551234567", body="hello", message_id="<1@x>")


def test_the_twilio_adapter_needs_its_credentials(settings):
    settings.KETACARE_TWILIO_ACCOUNT_SID = ""
    with pytest.raises(SmsError, match="KETACARE_TWILIO_ACCOUNT_SID"):
        TwilioSmsBackend()


def test_nothing_listens_on_the_closed_port():
    port = free_port()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
