"""Issue 11, acceptance 1, end to end with real processes: `ketacare worker` sends the invitation through a real SMTP
server (aiosmtpd, in the test); the test reads the email, follows its link in Chromium at a phone viewport (390 x
844) against a real server process, passes the date-of-birth check, sends a PHQ-9 with item 9 > 0, sees the crisis
resources, and the on-call clinician's email arrives within 60 s."""

import re
import subprocess
import sys
import time

import pytest

from tests.processes import ROOT, ProcessDb, kill
from tests.smtp import SmtpServer, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SETUP = """
import datetime as dt, json
from django.utils import timezone
from ketacare.accounts.models import User
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient
from ketacare.portal import services as portal
from ketacare.portal.models import DueItem
from ketacare.safety import services
clinic = Clinic.objects.create(code="home", name="Harbor Clinic")
def user(name, role):
    return User.objects.create_user(username=name, password="x-long-password-1", clinic=clinic, role=role,
                                    email=f"{name}@clinic.test")
admin, nurse, doctor = user("admin", "clinic_admin"), user("nurse", "nurse"), user("doctor", "prescriber")
now = timezone.now()
services.oncall_shift_add(actor=admin, clinician=nurse, backup=doctor, starts_at=now - dt.timedelta(hours=1),
                          ends_at=now + dt.timedelta(hours=8))
patient = Patient.objects.create(clinic=clinic, mrn="H-1", given_name="Rosalind", family_name="Quimby",
                                 date_of_birth=dt.date(1980, 3, 14), sex="female", created_at=now, updated_at=now)
portal.contact_update(actor=admin, patient=patient, email="rosalind@home.test", preferred_channel="email")
DueItem.objects.create(clinic=clinic, patient=patient, key="follow_up:e2e:1", kind="follow_up", instruments=["phq-9"],
                       target_at=now, opens_at=now - dt.timedelta(minutes=5), due_at=now + dt.timedelta(days=2),
                       expires_at=now + dt.timedelta(days=6), created_at=now, updated_at=now)
print(json.dumps("ok"))
"""


@pytest.fixture
def procdb(tmp_path):
    db = ProcessDb(tmp_path).create()
    yield db
    db.drop()


def _wait(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_invitation_by_the_worker_to_crisis_resources_and_the_on_call_email(procdb, browser, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with SmtpServer() as smtp:
        procdb.shell(SETUP)
        server_log = (tmp_path / "server.log").open("w")
        # the production server (gunicorn and WhiteNoise, static files collected first)
        server = subprocess.Popen([sys.executable, "-m", "ketacare.manage", "serve", "--port", str(port),
                                   "--workers", "1"], cwd=ROOT,
                                  env=procdb.env(ALLOWED_HOSTS="127.0.0.1", KETACARE_BASE_URL=base,
                                                 KETACARE_SECURE_COOKIES="False", EMAIL_URL=smtp.url),
                                  stdout=server_log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        procdb.processes.append(server)
        procdb.start_worker("portal-worker", EMAIL_URL=smtp.url, KETACARE_BASE_URL=base)
        invitation = smtp.wait_for(lambda m: ["rosalind@home.test"] in smtp.recipients, timeout=90)
        message = invitation[smtp.recipients.index(["rosalind@home.test"])]
        text = message.get_payload(decode=True).decode()
        assert "Harbor Clinic" in message["Subject"] and "Rosalind" in text and "Quimby" not in text
        url = re.search(rf"{re.escape(base)}/p/[A-Za-z0-9_-]{{43}}/", text).group(0)
        _wait(lambda: _up(base), "the server", timeout=120)

        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(url)
        assert page.url == f"{base}/p/verify/", page.url
        page.get_by_label("Month").fill("3")
        page.get_by_label("Day").fill("14")
        page.get_by_label("Year").fill("1980")
        page.get_by_role("button", name="Continue").click()
        questions = page.locator("fieldset.question")
        questions.first.wait_for()
        for n in range(9):
            questions.nth(n).locator("label.option").nth(2 if n == 8 else 0).click()
        page.get_by_role("button", name="Send these answers").click()
        sent = time.monotonic()
        crisis = page.get_by_role("alert").filter(has_text="get help now")
        crisis.wait_for()
        assert page.locator("a.tel").first.get_attribute("href") == "tel:988"
        page.screenshot(path=str(tmp_path / "crisis.png"))
        context.close()

        smtp.wait_for(lambda m: ["nurse@clinic.test"] in smtp.recipients, timeout=60)
        assert time.monotonic() - sent < 60
        oncall = smtp.snapshot()[smtp.recipients.index(["nurse@clinic.test"])]
        assert "Rosalind" not in oncall.as_string() and "Quimby" not in oncall.as_string()
        kill(server)
    server_output = (tmp_path / "server.log").read_text()
    assert url.rsplit("/", 2)[-2] not in server_output  # the token is redacted from the request log


def _up(base):
    import urllib.request

    try:
        return urllib.request.urlopen(base + "/healthz", timeout=2).status == 200
    except OSError:
        return False
