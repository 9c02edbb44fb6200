"""Health check and the demo clinic (the server as `make demo` starts it: tests/test_readme_commands.py)."""


import pytest
from django.core.management import call_command
from django.db import OperationalError

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient
from ketacare.seed.demo import DEMO_PATIENTS


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(client, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}


@pytest.mark.django_db
def test_demo_seeds_every_role_and_is_idempotent(client, settings, capsys):
    settings.DEBUG = True
    call_command("demo")
    call_command("demo")
    out = capsys.readouterr().out
    clinic = Clinic.objects.get(code="rkc")
    staff = {u.username: u.role for u in User.objects.filter(clinic=clinic)}
    assert staff == {"admin": Role.CLINIC_ADMIN, "prescriber": Role.PRESCRIBER, "nurse": Role.NURSE,
                     "frontdesk": Role.FRONT_DESK, "therapist": Role.THERAPIST, "researcher": Role.RESEARCHER,
                     "auditor": Role.AUDITOR}
    # The seeded patients and one referral imported from a Synthea bundle (seed/interop.py), once over two runs.
    assert Patient.objects.filter(clinic=clinic).count() == DEMO_PATIENTS + 1 > 30
    for username in staff:
        assert username in out
        client.logout()
        response = client.post("/accounts/login/", {"username": username, "password": "ketacare-demo"})
        assert response.status_code == 302, username
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_demo_refuses_a_production_database(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="KETACARE_DEBUG=False"):
        call_command("demo")
    assert not User.objects.exists()
