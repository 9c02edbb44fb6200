"""The one sign-in and sign-out of every browser test (Playwright page, a live server's base URL)."""

import base64
import re
import time

from tests.factories import PASSWORD


def totp_code(key_hex: str, *, after_step: int = -1, step: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows for this key now (or for the first period after `after_step`, as a code
    is accepted once)."""
    from django_otp.oath import TOTP

    totp = TOTP(bytes.fromhex(key_hex), step=step, digits=digits)
    totp.time = time.time()
    totp.time = max(totp.t(), after_step + 1) * step
    return f"{totp.token():0{digits}d}"


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real form, as a person would, and wait for the start page. A user with a second factor
    types the code their app shows (computed here from the device's key); one who must enrol first does, reading the
    key from the page, and keeps the recovery codes."""
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/(accounts/mfa/(setup/)?)?$"))
    if page.url.endswith("/accounts/mfa/"):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).order_by("-pk").first()
        page.get_by_label("Code").fill(totp_code(device.key, after_step=device.last_t))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(base + "/")
    elif page.url.endswith("/accounts/mfa/setup/"):
        page.get_by_text("Cannot scan? Type the key instead").click()
        secret = page.locator(".mfa-secret").inner_text().replace(" ", "")
        page.get_by_label("Code").fill(totp_code(base64.b32decode(secret).hex()))
        page.get_by_role("button", name="Turn on the second factor").click()
        page.get_by_role("button", name="I have kept them: continue").click()
        page.wait_for_url(base + "/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
