"""A clinic admin manages the clinic's staff accounts; every change is audited."""

import pytest

from ketacare.accounts.models import ApiToken, User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from ketacare.audit.models import AuditAction, AuditEvent
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = {"username": "nora.n", "first_name": "Nora", "last_name": "Nilsen", "email": "nora@clinic.example",
       "role": "nurse", "password": "a-long-and-unusual-passphrase"}


@pytest.fixture
def admin(client):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    client.force_login(admin)
    return admin


def test_admin_adds_a_nurse_who_can_then_sign_in(client, admin):
    response = client.post("/accounts/staff/new/", NEW)
    assert response.status_code == 302
    nurse = User.objects.get(username="nora.n")
    assert (nurse.clinic_id, nurse.role) == (admin.clinic_id, Role.NURSE)
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_CREATED, actor=admin, target_id=str(nurse.pk)).exists()
    client.logout()
    assert client.post("/accounts/login/", {"username": "nora.n", "password": NEW["password"]}).status_code == 302


@pytest.mark.parametrize(("change", "field"), [
    ({"username": "Bad Name!"}, "username"),
    ({"password": "short"}, "password"),
    ({"password": "password1234"}, "password"),
    ({"role": "superuser"}, "role"),
    ({"first_name": ""}, "first_name"),
])
def test_bad_staff_input_is_refused_by_field(client, admin, change, field):
    response = client.post("/accounts/staff/new/", {**NEW, **change})
    assert response.status_code == 422 and field in response.context["form"].errors
    assert not User.objects.filter(username=NEW["username"]).exists()


def test_duplicate_username_across_clinics_is_refused(client, admin):
    UserFactory(username="nora.n", clinic=ClinicFactory())
    response = client.post("/accounts/staff/new/", NEW)
    assert "taken" in " ".join(response.context["form"].errors["username"])


def test_deactivating_blocks_sign_in_and_revokes_tokens(client, admin):
    nurse = UserFactory(clinic=admin.clinic, role=Role.NURSE)
    token_create(user=nurse)
    response = client.post(f"/accounts/staff/{nurse.pk}/", {"role": "nurse"})
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert ApiToken.objects.get(user=nurse).revoked_at is not None
    event = AuditEvent.objects.get(action=AuditAction.STAFF_UPDATED)
    assert event.data == {"changed": {"is_active": [True, False]}}


def test_admin_cannot_lock_themselves_out(client, admin):
    response = client.post(f"/accounts/staff/{admin.pk}/", {"role": "clinic_admin"})
    assert response.status_code == 422
    admin.refresh_from_db()
    assert admin.is_active


def test_staff_of_another_clinic_is_not_found(client, admin):
    stranger = UserFactory(clinic=ClinicFactory())
    assert client.get(f"/accounts/staff/{stranger.pk}/").status_code == 404
    assert client.post(f"/accounts/staff/{stranger.pk}/", {"role": "auditor", "is_active": "on"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.role == Role.NURSE
    assert stranger.username not in client.get("/accounts/staff/").content.decode()


@pytest.mark.django_db
def test_clinic_create_makes_the_clinic_and_its_first_admin_and_refuses_bad_input():
    from django.core.exceptions import ValidationError

    from ketacare.accounts.services import clinic_create
    from ketacare.audit.models import AuditEvent
    from ketacare.core.models import Clinic

    clinic, admin, password = clinic_create(code="bos", name="Boston Clinic", admin_username="alice")
    assert admin.clinic == clinic and admin.role == "clinic_admin" and admin.check_password(password)
    assert len(password) >= 20 and password not in str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"clinic_created", "staff_created"}
    with pytest.raises(ValidationError, match="exists already"):
        clinic_create(code="bos", name="Another", admin_username="bob")
    with pytest.raises(ValidationError, match="unknown time zone"):
        clinic_create(code="nyc", name="New York", admin_username="carol", time_zone="Mars/Olympus")
    assert Clinic.objects.count() == 1 and not User.objects.filter(username__in=["bob", "carol"]).exists()


def test_staff_change_their_own_password_and_their_other_sessions_end(client):
    """Issue 15 point 6 (first part): the old password first, the password rules, audited; other browsers signed out."""
    from django.test import Client

    from tests.factories import PASSWORD

    nurse = UserFactory(role=Role.NURSE)
    elsewhere = Client()
    elsewhere.force_login(nurse)
    client.force_login(nurse)
    wrong = client.post("/accounts/account/password/", {"old_password": "nope", "new_password1": "a-long-new-pass-9",
                                                        "new_password2": "a-long-new-pass-9"})
    assert wrong.status_code == 422 and "incorrectly" in wrong.content.decode()
    short = client.post("/accounts/account/password/", {"old_password": PASSWORD, "new_password1": "short",
                                                        "new_password2": "short"})
    assert short.status_code == 422
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()
    ok = client.post("/accounts/account/password/", {"old_password": PASSWORD, "new_password1": "a-long-new-pass-9",
                                                     "new_password2": "a-long-new-pass-9"})
    assert ok.status_code == 302 and client.get("/").status_code == 200  # this session stays
    assert elsewhere.get("/")["Location"].startswith("/accounts/login/")  # the other one ended
    nurse.refresh_from_db()
    assert nurse.check_password("a-long-new-pass-9")
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED, actor=nurse).count() == 1
