"""Issue 16 point 8: API tokens expire and have a scope; reactivation does not revive old sessions; the client's
address and scheme come from a trusted proxy only; HSTS behind TLS; nothing signed-in is cached (privacy.md §1)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import CommandError, call_command

from ketacare.accounts import services
from ketacare.accounts.models import ApiToken, TokenScope
from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core import clock
from ketacare.core.env import trusted_networks
from tests.factories import PASSWORD, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_token_lasts_90_days_by_default_and_at_most_the_maximum(settings):
    nurse = UserFactory(role=Role.NURSE)
    services.token_create(user=nurse)
    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == dt.timedelta(days=90) and token.scope == TokenScope.READ_WRITE
    for days in (0, settings.KETACARE_TOKEN_MAX_DAYS + 1):
        with pytest.raises(ValidationError, match="1 to 365 days"):
            services.token_create(user=nurse, days=days)
    with pytest.raises(CommandError, match="1 to 365 days"):
        call_command("token", "create", "--user", nurse.username, "--days", "400")
    assert ApiToken.objects.count() == 1


def test_an_expired_token_gets_a_clear_401_on_the_api_and_on_fhir(client):
    nurse = UserFactory(role=Role.NURSE)
    token = services.token_create(user=nurse, days=1)
    assert client.get("/api/v1/instruments", headers=_bearer(token)).status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(days=1, minutes=1)):
        api = client.get("/api/v1/instruments", headers=_bearer(token))
        fhir = client.get("/fhir/R4/Patient", headers=_bearer(token))
    assert api.status_code == 401 and api.json()["code"] == "token.expired" and "expired on" in api.json()["detail"]
    assert fhir.status_code == 401 and "expired on" in fhir.json()["issue"][0]["diagnostics"]
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REFUSED, actor=nurse).count() == 2


def test_a_read_token_reads_and_searches_but_never_writes(client):
    nurse = UserFactory(role=Role.NURSE)
    patient = PatientFactory(clinic=nurse.clinic)
    token = services.token_create(user=nurse, scope=TokenScope.READ)
    assert client.get(f"/api/v1/patients/{patient.pk}", headers=_bearer(token)).status_code == 200
    assert client.post("/api/v1/patients/search", {"q": patient.family_name}, content_type="application/json",
                       headers=_bearer(token)).status_code == 200
    assert client.get("/fhir/R4/Patient", headers=_bearer(token)).status_code == 200
    before = AuditEvent.objects.filter(action=AuditAction.PATIENT_UPDATED).count()
    refused = client.patch(f"/api/v1/patients/{patient.pk}", {"phone": "555-0100"},
                           content_type="application/json", headers=_bearer(token))
    assert refused.status_code == 403 and refused.json()["code"] == "token.scope"
    assert AuditEvent.objects.filter(action=AuditAction.PATIENT_UPDATED).count() == before
    writer = services.token_create(user=nurse)
    assert client.patch(f"/api/v1/patients/{patient.pk}", {"phone": "555-0100"}, content_type="application/json",
                        headers=_bearer(writer)).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(client):
    nurse = UserFactory(role=Role.NURSE)
    token = services.token_create(user=nurse)
    start = clock.now()
    with time_machine.travel(start, tick=False):
        client.get("/api/v1/instruments", headers=_bearer(token))
    assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=50), tick=False):
        client.get("/api/v1/instruments", headers=_bearer(token))
    assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=70), tick=False):
        client.get("/api/v1/instruments", headers=_bearer(token))
    assert ApiToken.objects.get().last_used_at == start + dt.timedelta(seconds=70)


def test_reactivating_a_user_does_not_revive_their_old_session(client):
    from django.test import Client

    admin = UserFactory(role=Role.CLINIC_ADMIN)
    nurse = UserFactory(role=Role.NURSE, clinic=admin.clinic)
    theirs = Client()
    theirs.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    assert theirs.get("/").status_code == 200
    services.staff_update(actor=admin, user=nurse, role=Role.NURSE, is_active=False)
    services.staff_update(actor=admin, user=nurse, role=Role.NURSE, is_active=True)
    assert theirs.get("/")["Location"].startswith("/accounts/login/")
    theirs.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    assert theirs.get("/").status_code == 200  # a new sign-in works


def test_a_role_change_alone_keeps_the_session(client):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    nurse = UserFactory(role=Role.NURSE, clinic=admin.clinic)
    client.force_login(nurse)
    services.staff_update(actor=admin, user=nurse, role=Role.THERAPIST, is_active=True)
    assert client.get("/").status_code == 200


def test_the_audit_records_the_client_behind_a_trusted_proxy_and_ignores_anyone_elses_header(client, settings):
    settings.KETACARE_TRUSTED_PROXIES = trusted_networks(["10.0.0.0/24"])
    nurse = UserFactory(role=Role.NURSE)
    login = {"username": nurse.username, "password": PASSWORD}
    client.post("/accounts/login/", login, REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    client.logout()
    client.post("/accounts/login/", login, REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="203.0.113.9")
    ips = list(AuditEvent.objects.filter(action=AuditAction.LOGIN_SUCCEEDED).order_by("id").values_list("ip",
                                                                                                        flat=True))
    # the client is the right-most address the trusted proxy saw; the untrusted caller's header is ignored
    assert ips == ["203.0.113.9", "198.51.100.4"]


def test_hsts_only_when_a_trusted_proxy_says_https(client, settings):
    settings.KETACARE_TRUSTED_PROXIES = trusted_networks(["10.0.0.1"])
    assert settings.SECURE_HSTS_SECONDS >= 31_536_000
    behind_tls = client.get("/healthz", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    assert behind_tls["Strict-Transport-Security"].startswith("max-age=31536000")
    spoofed = client.get("/healthz", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in spoofed


def test_a_typo_in_the_trusted_proxies_stops_start_up():
    with pytest.raises(ImproperlyConfigured, match="KETACARE_TRUSTED_PROXIES: '10.0.0.300'"):
        trusted_networks(["10.0.0.300"])


def test_every_signed_in_response_is_no_store(client):
    nurse = UserFactory(role=Role.NURSE)
    patient = PatientFactory(clinic=nurse.clinic)
    client.force_login(nurse)
    for url in ("/", f"/patients/{patient.pk}/", "/banners/"):
        assert "no-store" in client.get(url)["Cache-Control"], url
    token = services.token_create(user=nurse)
    client.logout()
    assert "no-store" in client.get(f"/api/v1/patients/{patient.pk}", headers=_bearer(token))["Cache-Control"]
    assert "no-store" in client.get("/fhir/R4/Patient", headers=_bearer(token))["Cache-Control"]
