"""Acceptance 5 for the worker's own messages: every message body and subject, every log line and every URL that
the on-call flow produces (raise, deliver, retry, escalate) is scanned for the patient's full name, MRN, date of
birth, diagnosis, drug and score words and the alert's own code and text."""

import datetime as dt
import logging
import re

import pytest
import time_machine

from ketacare.accounts.roles import Role
from ketacare.messaging.domain.phi import DISCLOSING_WORDS
from ketacare.messaging.models import DeliveryAttempt, Message
from ketacare.messaging.services import deliver, sweep
from ketacare.safety import services
from ketacare.safety.domain.rules import SUICIDE_RISK_CODES
from tests.factories import PatientFactory, UserFactory
from tests.smtp import SmtpServer, free_port

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.UTC)
TEST_TOOLS = ("mail.log", "factory", "faker", "asyncio")
URL = re.compile(r"https?://[^\s\"'<>]+")


def test_nothing_the_on_call_flow_writes_or_logs_names_the_patient_or_the_treatment(clinic, settings, caplog,
                                                                                     tmp_path):
    settings.KETACARE_SMS_FILE = str(tmp_path / "sms.jsonl")
    caplog.set_level(logging.DEBUG)
    admin = UserFactory(clinic=clinic, role=Role.CLINIC_ADMIN, email="admin@clinic.test")
    nurse = UserFactory(clinic=clinic, role=Role.NURSE, email="nurse@clinic.test")
    services.staff_contact_set(actor=admin, user=nurse, mobile_e164="+15550100002")
    services.oncall_shift_add(actor=admin, clinician=nurse, starts_at=T0 - dt.timedelta(hours=1),
                              ends_at=T0 + dt.timedelta(hours=8))
    patients = [PatientFactory(clinic=clinic, given_name="Philippa", family_name="Thistlewood", mrn="MRN-77123"),
                PatientFactory(clinic=clinic, given_name="Ezekiel", family_name="Marchbanks", mrn="MRN-88456")]
    with time_machine.travel(T0, tick=False) as traveller:
        for n, code in enumerate(sorted(SUICIDE_RISK_CODES) + ["vitals.spo2.low"]):
            services.alert_raise(patient=patients[n % 2], code=code, severity="emergency", source_id=n,
                                 message=f"{code}: PHQ-9 score 21, esketamine 84 mg, major depressive disorder",
                                 source_type="questionnaire_response")
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                        "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2}}}
        for m in Message.objects.all():
            deliver(message_id=m.pk)  # refused by a closed port: a retry, logged
        with SmtpServer() as smtp:
            settings.MAILERS = smtp.mailers()
            traveller.shift(dt.timedelta(minutes=16))
            services.alerts_escalate(dt.datetime.now(dt.UTC))
            sweep(dt.datetime.now(dt.UTC))
            for m in Message.objects.all():
                deliver(message_id=m.pk)
            received = [f"{r.as_string()}\n{r.get_payload(decode=True).decode()}" for r in smtp.snapshot()]
    messages = list(Message.objects.all())
    assert len(messages) >= 12 and received and caplog.records
    texts = [f"{m.subject}\n{m.body}" for m in messages] + received + [(tmp_path / "sms.jsonl").read_text()]
    # every log line of the application and of Django; the test's own tools (the SMTP server, factories) excluded
    logs = [r.getMessage() for r in caplog.records if not r.name.startswith(TEST_TOOLS)]
    assert any(r.startswith("message ") for r in logs)
    texts += [a.error for a in DeliveryAttempt.objects.all()] + logs
    urls = [u for t in texts for u in URL.findall(t)]
    odd = [u for u in urls if not re.fullmatch(r"http://127\.0\.0\.1:8000/alerts/\d+/", u)]
    assert urls and not odd, odd
    forbidden = {w for p in patients for w in (p.given_name, p.family_name, p.mrn, p.date_of_birth.isoformat())}
    forbidden |= set(SUICIDE_RISK_CODES) | {"major depressive", "84 mg", "score 21"}
    for text in texts:
        lowered = text.lower()
        found = {w for w in forbidden if w.lower() in lowered}
        found |= {w for w in re.findall(r"[a-z0-9][a-z0-9-]*", lowered) if w in DISCLOSING_WORDS}
        assert not found, (found, text[:300])
