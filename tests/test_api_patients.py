"""The JSON API: bearer tokens, 401/403/404/422, clinic scoping, audit."""

import pytest
from django.core.management import CommandError, call_command

from ketacare.accounts.models import ApiToken
from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = {"given_name": "Avery", "family_name": "Lindgren", "date_of_birth": "1984-03-09", "sex": "female"}


def bearer(user):
    return {"Authorization": f"Bearer {token_create(user=user)}"}


def test_token_command_prints_a_token_whose_hash_alone_is_stored(capsys):
    user = UserFactory(username="nurse1")
    call_command("token", "create", "--user", "nurse1")
    token = capsys.readouterr().out.strip()
    assert token.startswith("kc_") and len(token) > 40
    stored = ApiToken.objects.get(user=user)
    assert stored.key_hash == ApiToken.hash(token) and token not in (stored.key_hash, stored.prefix)
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_CREATED, actor=user).exists()


def test_token_command_for_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="no active user named 'ghost'"):
        call_command("token", "create", "--user", "ghost")
    assert not ApiToken.objects.exists()


def test_unauthenticated_and_bad_tokens_get_401(client):
    assert client.get("/api/v1/patients").status_code == 401
    assert client.get("/api/v1/patients", headers={"Authorization": "Bearer kc_nope"}).status_code == 401


def test_revoked_token_and_inactive_user_get_401(client):
    user = UserFactory()
    headers = bearer(user)
    ApiToken.objects.update(revoked_at="2026-01-01T00:00Z")
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
    user2 = UserFactory(is_active=False)
    assert client.get("/api/v1/patients", headers=bearer(user2)).status_code == 401


def test_list_create_get_patch_round_trip_with_audit(client):
    nurse = UserFactory(role=Role.NURSE)
    headers = bearer(nurse)
    created = client.post("/api/v1/patients", NEW, content_type="application/json", headers=headers)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["mrn"].endswith("-000001") and body["given_name"] == "Avery"
    pid = body["id"]
    listing = client.post("/api/v1/patients/search", {"q": "lindgren"}, content_type="application/json",
                          headers=headers).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == pid
    assert client.get(f"/api/v1/patients/{pid}", headers=headers).json()["family_name"] == "Lindgren"
    patched = client.patch(f"/api/v1/patients/{pid}", {"phone": "+1 617 555 0101"},
                           content_type="application/json", headers=headers)
    assert patched.status_code == 200 and patched.json()["phone"] == "+1 617 555 0101"
    actions = list(AuditEvent.objects.filter(patient_id=pid).order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.PATIENT_CREATED, AuditAction.PATIENT_VIEWED, AuditAction.PATIENT_UPDATED]
    assert AuditEvent.objects.filter(action=AuditAction.PATIENTS_LISTED, data__via="api",
                                     data__query="lindgren").count() == 1


def test_other_clinic_patient_is_404_exactly_like_a_missing_one(client):
    nurse = UserFactory()
    other = PatientFactory(clinic=ClinicFactory())
    headers = bearer(nurse)
    foreign = client.get(f"/api/v1/patients/{other.pk}", headers=headers)
    missing = client.get("/api/v1/patients/999999", headers=headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    patch = client.patch(f"/api/v1/patients/{other.pk}", {"given_name": "Hacked"}, content_type="application/json",
                         headers=headers)
    assert patch.status_code == 404
    other.refresh_from_db()
    assert other.given_name != "Hacked"
    assert client.get("/api/v1/patients", headers=headers).json()["count"] == 0


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.AUDITOR])
def test_roles_without_patient_access_get_403(client, role):
    user = UserFactory(role=role)
    patient = PatientFactory(clinic=user.clinic)
    headers = bearer(user)
    assert client.get("/api/v1/patients", headers=headers).status_code == 403
    assert client.get(f"/api/v1/patients/{patient.pk}", headers=headers).status_code == 403
    assert client.post("/api/v1/patients", NEW, content_type="application/json", headers=headers).status_code == 403
    assert Patient.objects.count() == 1


def test_therapist_can_read_but_not_create_or_edit(client):
    therapist = UserFactory(role=Role.THERAPIST)
    patient = PatientFactory(clinic=therapist.clinic)
    headers = bearer(therapist)
    assert client.get(f"/api/v1/patients/{patient.pk}", headers=headers).status_code == 200
    assert client.post("/api/v1/patients", NEW, content_type="application/json", headers=headers).status_code == 403
    assert client.patch(f"/api/v1/patients/{patient.pk}", {"given_name": "X"}, content_type="application/json",
                        headers=headers).status_code == 403


@pytest.mark.parametrize(("payload", "field"), [
    ({**NEW, "given_name": ""}, "given_name"),
    ({**NEW, "date_of_birth": "2999-01-01"}, "date_of_birth"),
    ({**NEW, "date_of_birth": "1990-02-30"}, "date_of_birth"),
    ({**NEW, "sex": "dragon"}, "sex"),
    ({**NEW, "family_name": "<script>alert(1)</script>"}, "family_name"),
    ({**NEW, "city": "y" * 10_000}, "city"),
    ({k: v for k, v in NEW.items() if k != "date_of_birth"}, "date_of_birth"),
])
def test_invalid_input_is_422_naming_the_field_and_stores_nothing(client, payload, field):
    headers = bearer(UserFactory())
    response = client.post("/api/v1/patients", payload, content_type="application/json", headers=headers)
    assert response.status_code == 422
    fields = [err["loc"][-1] for err in response.json()["detail"]]
    assert field in fields
    assert all(err["msg"] for err in response.json()["detail"])
    assert not Patient.objects.exists()


def test_patch_with_invalid_value_changes_nothing(client):
    nurse = UserFactory()
    patient = PatientFactory(clinic=nurse.clinic, given_name="Avery")
    response = client.patch(f"/api/v1/patients/{patient.pk}", {"given_name": "Bo", "email": "nope"},
                            content_type="application/json", headers=bearer(nurse))
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == ["email"]
    patient.refresh_from_db()
    assert patient.given_name == "Avery"


def test_openapi_lists_the_patient_routes(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/patients", "/api/v1/patients/{patient_id}"} <= set(spec["paths"])
    assert set(spec["paths"]["/api/v1/patients/{patient_id}"]) == {"get", "patch"}
