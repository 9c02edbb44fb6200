"""Health check and the demo clinic (the server as `make demo` starts it: tests/test_readme_commands.py)."""


import pytest
from django.core.management import call_command
from django.db import OperationalError
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient
from ketacare.seed.demo import DEMO_PATIENTS, DEMO_TOTP_SECRET
from tests.browser import totp_code


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
        if role_needs_code := staff[username] in (Role.CLINIC_ADMIN, Role.PRESCRIBER):
            # the second factor, from the published demo key the demo prints
            assert response["Location"] == "/accounts/mfa/"
            device = TOTPDevice.objects.get(user__username=username)
            assert client.post("/accounts/mfa/", {"code": totp_code(device.key, after_step=device.last_t)}
                               ).status_code == 302
        assert client.get("/").status_code == 200, (username, role_needs_code)
    assert " ".join(DEMO_TOTP_SECRET[i:i + 4] for i in range(0, 32, 4)) in out


@pytest.mark.django_db
def test_demo_refuses_a_production_database(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="production install"):
        call_command("demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_clinic_admin_sees_the_checklist_of_clinic_policy_values_and_the_settings_pages_mark_them(client):
    """Issue 13 point 8: values the domain files give no number for (SpO2, heart and respiratory rate alerts, the
    IV dose ceiling, the relapse definition, liver disease, the crisis BP and event window) are clinic policy."""
    from ketacare.accounts.roles import Role
    from ketacare.core.policy import NO_PUBLISHED_THRESHOLD, policy_values
    from tests.factories import UserFactory

    keys = {v.key for v in policy_values()}
    assert {"treatment.thresholds.spo2_alert_below_pct", "treatment.thresholds.heart_rate_alert_above_bpm",
            "treatment.thresholds.resp_rate_alert_below_per_min", "treatment.dose_rule.max_total_mg",
            "outcomes.relapse", "screening.hepatic_disease", "screening.cv_event_recency_days"} <= keys
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    client.force_login(admin)
    home = client.get("/").content.decode()
    assert "Clinic-policy values to confirm" in home and "SpO2 alert below (%)" in home
    assert NO_PUBLISHED_THRESHOLD in home
    from django.urls import reverse

    protocol_page = client.get("/treatment/protocols/edit/?protocol=iv-ketamine-induction@1").content.decode()
    assert protocol_page.count(NO_PUBLISHED_THRESHOLD) >= 7, protocol_page[:500]
    screening_page = client.get(reverse("screening:eligibility-settings")).content.decode()
    assert NO_PUBLISHED_THRESHOLD in screening_page
    nurse = UserFactory(role=Role.NURSE, clinic=admin.clinic)
    client.force_login(nurse)
    assert "Clinic-policy values to confirm" not in client.get("/").content.decode()
