"""Issue 16 point 7: a second factor (TOTP) for staff, required of clinic admins and prescribers and per clinic of the
rest; single-use recovery codes stored as digests; enrolment, use, failure and reset audited; failures count toward
the sign-in throttle (privacy.md §1, person or entity authentication)."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.domain import mfa as rules
from ketacare.accounts.models import LoginFailure, MfaSetting, RecoveryCode
from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from tests.browser import totp_code
from tests.factories import PASSWORD, ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _password(client, user, ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR=ip)


def _device(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return device


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return totp_code(device.key, after_step=device.last_t)


def _enrol(client, user) -> list[str]:
    """Sign in with the password and enrol through the pages; returns the recovery codes shown."""
    assert _password(client, user)["Location"] == "/accounts/mfa/setup/"
    page = client.get("/accounts/mfa/setup/").content.decode()
    secret = re.search(r'class="mfa-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    import base64

    response = client.post("/accounts/mfa/setup/", {"code": totp_code(base64.b32decode(secret).hex())})
    assert response.status_code == 200
    return re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", response.content.decode())


@pytest.mark.parametrize(("role", "clinic_requires_all", "required"), [
    (Role.CLINIC_ADMIN, False, True), (Role.PRESCRIBER, False, True), (Role.NURSE, False, False),
    (Role.FRONT_DESK, False, False), (Role.AUDITOR, False, False), (Role.NURSE, True, True),
    (Role.RESEARCHER, True, True),
])
def test_who_needs_a_second_factor(role, clinic_requires_all, required):
    assert rules.mfa_required(role, clinic_requires_all=clinic_requires_all) is required


def test_recovery_codes_are_ten_distinct_codes_typed_in_any_case_or_spacing():
    codes = rules.new_recovery_codes()
    assert len(set(codes)) == 10 and all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", c) for c in codes)
    assert rules.normalize_code(" " + codes[0].lower().replace("-", " ")) == codes[0].replace("-", "")
    assert rules.looks_like_recovery_code(rules.normalize_code(codes[0]))
    assert not rules.looks_like_totp(rules.normalize_code(codes[0]))


def test_a_prescriber_without_a_device_enrols_before_any_page_and_keeps_codes_as_digests_only(client):
    prescriber = UserFactory(role=Role.PRESCRIBER)
    patient = PatientFactory(clinic=prescriber.clinic)
    response = _password(client, prescriber)
    assert response.status_code == 302 and response["Location"] == "/accounts/mfa/setup/"
    for url in ("/", f"/patients/{patient.pk}/", "/patients/"):
        assert client.get(url)["Location"] == "/accounts/mfa/setup/"
    assert not AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED).exists()
    wrong = client.post("/accounts/mfa/setup/", {"code": "000000"})
    assert wrong.status_code == 422 and "not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=prescriber, confirmed=True).exists()
    client.logout()
    codes = _enrol(client, prescriber)
    assert len(codes) == 10
    stored = list(RecoveryCode.objects.filter(user=prescriber).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    assert client.get(f"/patients/{patient.pk}/").status_code == 200
    actions = list(AuditEvent.objects.filter(actor=prescriber).values_list("action", flat=True))
    assert AuditAction.MFA_ENROLLED in actions and AuditAction.MFA_FAILED in actions


def test_the_qr_code_and_the_key_stay_the_same_until_enrolment_is_confirmed(client):
    prescriber = UserFactory(role=Role.PRESCRIBER)
    _password(client, prescriber)
    first, second = (client.get("/accounts/mfa/setup/").content.decode() for _ in range(2))
    key = re.compile(r'class="mfa-secret">([A-Z2-7 ]+)<')
    assert key.search(first).group(1) == key.search(second).group(1)
    assert 'src="data:image/svg+xml;base64,' in first
    assert TOTPDevice.objects.filter(user=prescriber).count() == 1


def test_a_user_with_a_device_gives_its_code_after_the_password(client):
    nurse = UserFactory(role=Role.NURSE)
    device = _device(nurse)
    response = client.post("/accounts/login/?next=/patients/", {"username": nurse.username, "password": PASSWORD})
    assert response["Location"] == "/accounts/mfa/"
    assert client.get("/patients/")["Location"] == "/accounts/mfa/"
    page = client.get("/accounts/mfa/").content.decode()
    assert "One more step" in page and "Patients" not in page  # no menu before the second step
    assert client.post("/accounts/mfa/", {"code": "123456"}).status_code == 422
    assert LoginFailure.objects.count() == 1
    ok = client.post("/accounts/mfa/", {"code": _code(device)})
    assert ok.status_code == 302 and ok["Location"] == "/patients/"  # where they were going
    assert client.get("/patients/").status_code == 200
    assert LoginFailure.objects.count() == 0  # a full sign-in clears the username's count
    assert AuditEvent.objects.filter(action=AuditAction.MFA_VERIFIED, actor=nurse, data__method="totp").exists()
    assert AuditEvent.objects.filter(action=AuditAction.MFA_FAILED, actor=nurse).count() == 1


def test_a_code_works_once(client):
    nurse = UserFactory(role=Role.NURSE)
    device = _device(nurse)
    code = _code(device)
    _password(client, nurse)
    assert client.post("/accounts/mfa/", {"code": code}).status_code == 302
    client.logout()
    _password(client, nurse)
    assert client.post("/accounts/mfa/", {"code": code}).status_code == 422


def test_a_recovery_code_signs_in_once(client):
    prescriber = UserFactory(role=Role.PRESCRIBER)
    codes = _enrol(client, prescriber)
    client.logout()
    _password(client, prescriber)
    used = client.post("/accounts/mfa/", {"code": codes[3].lower()}, follow=True)
    assert used.redirect_chain[0][0] == "/" and "recovery code; 9 left" in used.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.MFA_RECOVERY_CODE_USED, data__left=9).exists()
    client.logout()
    _password(client, prescriber)
    assert client.post("/accounts/mfa/", {"code": codes[3]}).status_code == 422
    assert client.get("/")["Location"] == "/accounts/mfa/"


def test_wrong_codes_count_toward_the_sign_in_throttle_and_end_the_session(client, settings):
    settings.LOGIN_MAX_FAILURES = 3
    nurse = UserFactory(role=Role.NURSE)
    device = _device(nurse)
    _password(client, nurse)
    for _ in range(2):
        assert client.post("/accounts/mfa/", {"code": "000000"}).status_code == 422
    locked = client.post("/accounts/mfa/", {"code": "000000"})
    assert locked.status_code == 302 and locked["Location"] == "/accounts/login/"
    assert client.get("/")["Location"].startswith("/accounts/login/")  # signed out
    refused = _password(client, nurse)  # the right password is refused too while locked
    assert refused.status_code == 200 and "Too many failed" in refused.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).last_used_at


def test_the_clinic_can_require_it_of_everyone_with_a_reason(client):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    nurse = UserFactory(role=Role.NURSE, clinic=admin.clinic)
    assert _password(client, nurse)["Location"] == "/"  # not required of nurses by default
    client.logout()
    client.force_login(admin)
    blank = client.post("/accounts/staff/mfa-setting/", {"required_for_all": "on", "reason": "  "})
    assert blank.status_code == 422 and not MfaSetting.objects.exists()
    client.post("/accounts/staff/mfa-setting/", {"required_for_all": "on", "reason": "staff work from home"})
    assert MfaSetting.objects.get().required_for_all
    assert AuditEvent.objects.filter(action=AuditAction.MFA_SETTING_CHANGED, actor=admin).exists()
    client.logout()
    assert _password(client, nurse)["Location"] == "/accounts/mfa/setup/"
    other_clinic_nurse = UserFactory(role=Role.NURSE, clinic=ClinicFactory())
    client.logout()
    assert _password(client, other_clinic_nurse)["Location"] == "/"


def test_an_admin_reset_removes_the_factor_ends_the_sessions_and_is_audited(client, django_user_model):
    from django.test import Client

    admin = UserFactory(role=Role.CLINIC_ADMIN)
    prescriber = UserFactory(role=Role.PRESCRIBER, clinic=admin.clinic)
    theirs = Client()
    _enrol(theirs, prescriber)
    assert theirs.get("/").status_code == 200
    client.force_login(admin)
    assert client.post(f"/accounts/staff/{admin.pk}/mfa-reset/").status_code == 302  # refused: not oneself
    assert client.post(f"/accounts/staff/{prescriber.pk}/mfa-reset/").status_code == 302
    assert not TOTPDevice.objects.filter(user=prescriber).exists()
    assert not RecoveryCode.objects.filter(user=prescriber).exists()
    assert theirs.get("/")["Location"].startswith("/accounts/login/")  # their session ended
    event = AuditEvent.objects.get(action=AuditAction.MFA_RESET)
    assert event.actor_id == admin.pk and event.target_id == str(prescriber.pk)
    assert event.data == {"devices_removed": 1, "recovery_codes_removed": 10}
    assert _password(theirs, prescriber)["Location"] == "/accounts/mfa/setup/"  # enrols again
    foreign = UserFactory(role=Role.PRESCRIBER, clinic=ClinicFactory())
    assert client.post(f"/accounts/staff/{foreign.pk}/mfa-reset/").status_code == 404


@pytest.mark.real_second_factor
def test_a_session_signed_in_any_other_way_still_stops_at_the_second_step(client):
    prescriber, nurse = UserFactory(role=Role.PRESCRIBER), UserFactory(role=Role.NURSE)
    _device(nurse)
    client.force_login(prescriber)
    assert client.get("/patients/")["Location"] == "/accounts/mfa/setup/"
    assert client.get("/", headers={"HX-Request": "true"})["HX-Redirect"] == "/accounts/mfa/setup/"
    client.force_login(nurse)
    assert client.get("/patients/")["Location"] == "/accounts/mfa/"


def test_the_demo_admin_and_prescriber_use_the_published_key_and_the_others_only_a_password(client, capsys,
                                                                                             settings):
    from django.core.management import CommandError, call_command

    from ketacare.seed.demo import DEMO_TOTP_SECRET, seed_demo

    seed_demo(password=PASSWORD)
    devices = TOTPDevice.objects.filter(confirmed=True)
    assert sorted(devices.values_list("user__username", flat=True)) == ["admin", "prescriber"]
    with pytest.raises(CommandError, match="demo install only"):
        call_command("mfa", "code", "--user", "prescriber")  # never on a production install
    settings.KETACARE_DEMO = True
    call_command("mfa", "code", "--user", "prescriber")
    printed = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\d{6}", printed)
    assert printed == totp_code(__import__("base64").b32decode(DEMO_TOTP_SECRET).hex(),
                                after_step=devices.get(user__username="prescriber").last_t)
    prescriber = devices.get(user__username="prescriber").user
    _password(client, prescriber)
    assert client.post("/accounts/mfa/", {"code": printed})["Location"] == "/"
    client.logout()
    assert _password(client, prescriber.clinic.staff.get(username="nurse"))["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(client):
    prescriber = UserFactory(role=Role.PRESCRIBER)
    old = _enrol(client, prescriber)
    assert "Recovery codes left: <strong>10</strong>" in client.get("/accounts/account/").content.decode()
    new = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>",
                     client.post("/accounts/mfa/recovery-codes/").content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditEvent.objects.filter(action=AuditAction.MFA_RECOVERY_CODES_RENEWED, actor=prescriber).exists()
    client.logout()
    _password(client, prescriber)
    assert client.post("/accounts/mfa/", {"code": old[0]}).status_code == 422
    assert client.post("/accounts/mfa/", {"code": new[0]}).status_code == 302
