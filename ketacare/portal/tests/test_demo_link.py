"""`make demo` (the `ketacare demo` command) prints one ready-to-try patient link."""

import re

import pytest
from django.core.management import call_command

from ketacare.patients.models import Patient
from ketacare.portal.tests.factories import dob

pytestmark = pytest.mark.django_db


def test_the_demo_prints_a_patient_link_that_opens_the_questionnaire(client, settings, capsys):
    settings.DEBUG = True
    call_command("demo")
    first = re.findall(r"http://\S+/p/([A-Za-z0-9_-]{43})/", capsys.readouterr().out)
    call_command("demo")
    out = capsys.readouterr().out
    tokens = re.findall(r"http://\S+/p/([A-Za-z0-9_-]{43})/", out)
    assert len(first) == 1 and len(tokens) == 1 and tokens != first
    month, day, year = map(int, re.search(r"month (\d+), day (\d+), year (\d+)", out).groups())
    patient = Patient.objects.get(date_of_birth__year=year, date_of_birth__month=month, date_of_birth__day=day,
                                  clinic__code="rkc", mrn="RKC-000001")
    assert "no longer valid" in client.get(f"/p/{first[0]}/").content.decode()  # the earlier run's link
    assert client.get(f"/p/{tokens[0]}/")["Location"] == "/p/verify/"
    client.post("/p/verify/", dob(patient.date_of_birth))
    page = client.get("/p/questionnaire/").content.decode()
    assert "Questionnaire 1 of 2" in page and patient.given_name in page
