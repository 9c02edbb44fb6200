"""The one sign-in and sign-out of every browser test (Playwright page, a live server's base URL)."""

from tests.factories import PASSWORD


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real form, as a person would, and wait for the start page."""
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
