"""Health check, the demo clinic, and the production server as `make demo` starts it."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient
from ketacare.seed.demo import DEMO_PATIENTS

ROOT = Path(__file__).resolve().parents[1]


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
    assert Patient.objects.filter(clinic=clinic).count() == DEMO_PATIENTS >= 30
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_server_answers_healthz_and_login_over_http(tmp_path):
    """What `make demo` runs: migrate, demo, serve (gunicorn + whitenoise), on a fresh SQLite file."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KETACARE_DEBUG": "True",
           "KETACARE_VAR_DIR": str(tmp_path / "var")}
    ketacare = [sys.executable, "-m", "ketacare.manage"]
    for args in (["migrate", "--no-input", "-v", "0"], ["demo"]):
        subprocess.run(ketacare + args, env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen(ketacare + ["serve", "--port", str(port), "--workers", "1"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    assert r.status == 200 and b'"database": "ok"' in r.read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        with urllib.request.urlopen(base + "/accounts/login/", timeout=5) as r:
            page = r.read().decode()
            assert r.status == 200 and "Sign in" in page
        css = page.split('href="')[2].split('"')[0]  # hashed by the manifest storage, served by whitenoise
        with urllib.request.urlopen(base + css, timeout=5) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/css")
    finally:
        server.terminate()
        server.wait(timeout=10)
