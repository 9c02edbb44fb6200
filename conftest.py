"""Project-wide test setup: plain static storage, Debian Chromium for browser tests, artifacts folder."""

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Playwright's sync API runs an event loop in the test thread; Django's ORM then refuses to run unless told (tests
# only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"

pytest_plugins = ["tests.clinic_fixtures"]

# Property tests assert behaviour, not speed: on two shared cores a slow example is not a failure (Hypothesis's
# 200 ms deadline made the suite flaky under load). Speed is measured by benchmarks/.
hypothesis_settings.register_profile("ketacare", deadline=None)
hypothesis_settings.load_profile("ketacare")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Manifest storage needs `collectstatic`; tests serve static files straight from the apps.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture(autouse=True)
def _empty_page_cache():
    # Test databases roll back and reuse ids: a page cached by one test must not be served to the next.
    from django.core.cache import caches

    caches["patient_pages"].clear()
    caches["default"].clear()  # banner counts and the like are keyed by ids that the next test reuses


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.console_errors = errors
    yield pg
    context.close()


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot under test-artifacts/<test name>/NN-<step>.png."""
    folder = ARTIFACTS / request.node.name.replace("[", "_").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(page, step: str) -> Path:
        path = folder / f"{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True, scope="session")
def _sqlite_flush_passes_the_audit_trigger():
    # SQLite's triggers refuse DELETE on the audit table (core/append_only.py); Django's flush after a transactional
    # test is the one delete allowed (PostgreSQL's flush is a TRUNCATE, which row triggers do not see).
    from django.db import connection

    from ketacare.core.append_only import flush_allowed

    if connection.vendor != "sqlite":
        yield
        return
    DatabaseOperations = type(connection.ops)
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with flush_allowed():
            return original(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the production hasher (asserted in tests/test_auth.py); tests hash thousands of times, so use MD5 here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _signed_in_with_second_factor(request, monkeypatch):
    """`client.force_login(user)` (and `client.login`) stand for a finished sign-in, the second factor included, as
    they did before MFA existed. Tests of the second step itself sign in through the real pages instead, or use the
    `real_second_factor` marker to keep Django's plain login (the session then starts at the second step)."""
    if request.node.get_closest_marker("real_second_factor"):
        return
    from django.test import Client

    from ketacare.accounts import mfa

    plain_login = Client._login

    def login_with_second_factor(self, user, backend=None):
        plain_login(self, user, backend)
        session = self.session
        session[mfa.SESSION_KEY] = mfa.VERIFIED
        session.save()

    monkeypatch.setattr(Client, "_login", login_with_second_factor)
