"""In headless Chromium: a prescriber enrols an authenticator app at first sign-in (QR code, key, recovery codes), signs
out, and signs in again with a code (screenshots kept in test-artifacts/)."""

import base64

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from tests.browser import sign_in, sign_out, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_prescriber_enrols_then_signs_in_with_a_code(live_server, page, screenshot):
    base = live_server.url
    UserFactory(username="priya", role=Role.PRESCRIBER, first_name="Priya", last_name="Raman")
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill("priya")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/accounts/mfa/setup/")
    assert page.get_by_role("img", name="QR code to add KetaCare to your authenticator app").is_visible()
    assert page.get_by_role("link", name="Patients").count() == 0  # no menu before the second factor
    page.get_by_text("Cannot scan? Type the key instead").click()
    screenshot(page, "enrol")
    secret = page.locator(".mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn on the second factor").click()
    page.get_by_text("That code is not right").wait_for()
    page.console_errors.clear()  # the refused code's page is a 422, which Chromium logs
    page.get_by_label("Code").fill(totp_code(base64.b32decode(secret).hex()))
    page.get_by_role("button", name="Turn on the second factor").click()
    page.get_by_role("heading", name="Your second factor is on").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    screenshot(page, "recovery-codes")
    page.get_by_role("button", name="I have kept them: continue").click()
    page.wait_for_url(base + "/")
    sign_out(page)

    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill("priya")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/accounts/mfa/")
    screenshot(page, "code")
    device = TOTPDevice.objects.get(user__username="priya", confirmed=True)
    page.get_by_label("Code").fill(totp_code(device.key, after_step=device.last_t))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(base + "/")
    assert page.get_by_role("link", name="Patients").is_visible()
    assert page.console_errors == []
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.MFA_ENROLLED, AuditAction.MFA_FAILED, AuditAction.MFA_VERIFIED} <= actions


def test_the_shared_sign_in_helper_completes_the_second_step(live_server, page):
    UserFactory(username="adele", role=Role.CLINIC_ADMIN)
    sign_in(page, live_server.url, "adele")  # enrols (no device yet)
    sign_out(page)
    sign_in(page, live_server.url, "adele")  # then gives a code
    assert page.get_by_role("link", name="Staff").is_visible()


def test_your_account_page_and_the_password_change(live_server, page, screenshot):
    UserFactory(username="noah", role=Role.NURSE, first_name="Noah", last_name="Okafor")
    sign_in(page, live_server.url, "noah")
    page.get_by_role("link", name="Noah Okafor").click()
    page.get_by_role("heading", name="Your account").wait_for()
    screenshot(page, "account")
    page.get_by_role("button", name="Change your password").click()
    page.get_by_label("Old password").fill(PASSWORD)
    page.locator("#id_new_password1").fill("a-long-new-pass-9")
    page.locator("#id_new_password2").fill("a-long-new-pass-9")
    screenshot(page, "password")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password was changed").wait_for()
