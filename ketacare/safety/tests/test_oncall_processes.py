"""Acceptance 1 (the safety net's half) with real processes: an alert raised while `ketacare worker` runs reaches
the on-call clinician's mailbox (a real SMTP server in the test) within 60 s; with no acknowledgement, the escalation
email reaches the second clinician once the delay has passed (the test moves "now" for the escalation pass; it does
not sleep through the delay)."""

import time

import pytest

from tests.processes import ProcessDb
from tests.smtp import SmtpServer

pytestmark = pytest.mark.django_db  # the vendor of the test database; the processes use a database of their own

SETUP = """
import datetime as dt, json
from django.utils import timezone
from ketacare.accounts.models import User
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient
from ketacare.safety import services
clinic = Clinic.objects.create(code="oc", name="On Call Clinic")
def user(name, role):
    return User.objects.create_user(username=name, password="x-long-password-1", clinic=clinic, role=role,
                                    email=f"{name}@clinic.test")
admin, nurse, doctor = user("admin", "clinic_admin"), user("nurse", "nurse"), user("doctor", "prescriber")
now = timezone.now()
services.oncall_shift_add(actor=admin, clinician=nurse, backup=doctor, starts_at=now - dt.timedelta(hours=1),
                          ends_at=now + dt.timedelta(hours=8))
Patient.objects.create(clinic=clinic, mrn="OC-1", given_name="Rosalind", family_name="Quimby",
                       date_of_birth=dt.date(1980, 1, 1), sex="female", created_at=now, updated_at=now)
print(json.dumps("ok"))
"""
RAISE = """
import json
from ketacare.patients.models import Patient
from ketacare.safety import services
alert = services.alert_raise(patient=Patient.objects.get(mrn="OC-1"), code="phq9.item9_positive", severity="high",
                             message="PHQ-9 item 9 positive", source_type="questionnaire_response", source_id=7)
print(json.dumps({"id": alert.pk, "raised_at": alert.raised_at.isoformat()}))
"""
ESCALATE_AT = """
import datetime as dt, json
from ketacare.safety.services import alerts_escalate
print(json.dumps(alerts_escalate(dt.datetime.fromisoformat("{at}"))))
"""


@pytest.fixture
def procdb(tmp_path):
    db = ProcessDb(tmp_path).create()
    yield db
    db.drop()


def test_the_on_call_clinician_is_emailed_within_a_minute_and_the_second_clinician_after_the_delay(procdb):
    import datetime as dt

    with SmtpServer() as smtp:
        procdb.shell(SETUP)
        worker = procdb.start_worker("oncall-worker", EMAIL_URL=smtp.url)
        deadline = time.monotonic() + 60
        while "Starting worker" not in worker.log_path.read_text():
            assert time.monotonic() < deadline and worker.poll() is None, worker.log_path.read_text()
            time.sleep(0.2)
        alert = procdb.shell(RAISE)
        raised = time.monotonic()
        smtp.wait_for(lambda m: any(r == ["nurse@clinic.test"] for r in smtp.recipients), timeout=60)
        assert time.monotonic() - raised < 60
        first = smtp.snapshot()[0]
        assert f"/alerts/{alert['id']}/" in first.get_payload()
        assert "Rosalind" not in first.as_string() and "Quimby" not in first.as_string()
        # Nobody acknowledges. Just before the default 15-minute delay nothing happens; at it, the backup is told.
        raised_at = dt.datetime.fromisoformat(alert["raised_at"])
        assert procdb.shell(ESCALATE_AT.format(at=(raised_at + dt.timedelta(minutes=14)).isoformat())) == 0
        assert procdb.shell(ESCALATE_AT.format(at=(raised_at + dt.timedelta(minutes=15)).isoformat())) == 1
        smtp.wait_for(lambda m: ["doctor@clinic.test"] in smtp.recipients, timeout=60)
    assert smtp.recipients.count(["nurse@clinic.test"]) == 1 and smtp.recipients.count(["doctor@clinic.test"]) == 1
