"""Sign-in, sign-out, throttling, idle timeout, password hashing."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from ketacare.audit.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_production_hasher_is_argon2(settings):
    from ketacare.config import settings as project  # the module's value, before conftest's test-speed override

    assert project.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS
    assert make_password("x").startswith("argon2$")


def test_sign_in_and_out_are_audited(client):
    user = UserFactory(username="nina")
    response = client.post("/accounts/login/", {"username": "nina", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
    assert list(AuditEvent.objects.order_by("id").values_list("action", "actor")) == [
        (AuditAction.LOGIN_SUCCEEDED, user.pk), (AuditAction.LOGGED_OUT, user.pk)]


def test_wrong_password_is_refused_and_audited_without_a_session(client):
    UserFactory(username="nina")
    response = client.post("/accounts/login/", {"username": "nina", "password": "wrong"})
    assert response.status_code == 200 and "correct username and password" in response.content.decode()
    assert AuditEvent.objects.get().action == AuditAction.LOGIN_FAILED
    assert client.get("/").status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, settings):
    settings.LOGIN_MAX_FAILURES = 3
    UserFactory(username="nina")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "nina", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "nina", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_THROTTLED).count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)):
        response = client.post("/accounts/login/", {"username": "nina", "password": PASSWORD})
        assert response.status_code == 302


def test_idle_session_expires_after_the_configured_minutes(client, settings):
    user = UserFactory()
    patient = PatientFactory(clinic=user.clinic)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    with time_machine.travel(start + dt.timedelta(minutes=settings.IDLE_TIMEOUT_MINUTES - 1), tick=False):
        assert client.get(f"/patients/{patient.pk}/").status_code == 200  # activity slides the window
    with time_machine.travel(start + dt.timedelta(minutes=2 * settings.IDLE_TIMEOUT_MINUTES - 2), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=3 * settings.IDLE_TIMEOUT_MINUTES), tick=False):
        response = client.get(f"/patients/{patient.pk}/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_idle_session_never_outlives_the_limit_after_the_last_activity(client, settings):
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        assert client.get("/").status_code == 200  # the last activity
    limit = dt.timedelta(minutes=settings.IDLE_TIMEOUT_MINUTES)
    with time_machine.travel(start + dt.timedelta(seconds=31) + limit, tick=False):
        assert client.get("/").status_code == 302


def test_a_one_minute_idle_limit_keeps_an_active_user_signed_in(client, settings):
    settings.SESSION_COOKIE_AGE = 60  # the shortest limit KETACARE_IDLE_TIMEOUT_MINUTES allows
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    for seconds in range(40, 400, 40):  # a page every 40 seconds keeps the user signed in
        with time_machine.travel(start + dt.timedelta(seconds=seconds), tick=False):
            assert client.get("/").status_code == 200


def test_default_idle_timeout_is_fifteen_minutes():
    from ketacare.config import settings as project

    assert project.IDLE_TIMEOUT_MINUTES == 15 and project.SESSION_COOKIE_AGE == 900


def test_login_next_parameter_cannot_redirect_off_site(client):
    UserFactory(username="nina")
    response = client.post("/accounts/login/?next=https://evil.example/", {"username": "nina", "password": PASSWORD})
    assert response["Location"] == "/"


def test_logout_needs_post(client):
    client.force_login(UserFactory())
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_self_refreshing_page_parts_do_not_keep_an_idle_session_alive(client, settings):
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    for minutes in range(5, settings.IDLE_TIMEOUT_MINUTES + 5, 5):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            poll = client.get("/banners/", headers={"X-KetaCare-Poll": "1"})
    assert poll.status_code == 302  # the last poll, past the idle limit, found the session gone
    with time_machine.travel(start + dt.timedelta(minutes=settings.IDLE_TIMEOUT_MINUTES + 5), tick=False):
        assert client.get("/").status_code == 302


def test_expired_session_sends_htmx_fragments_to_the_sign_in_page(client):
    response = client.get("/banners/", headers={"HX-Request": "true", "X-KetaCare-Poll": "1"})
    assert response.status_code == 200 and response["HX-Redirect"] == "/accounts/login/"
    assert response.content == b""


def test_the_session_row_is_written_at_most_once_a_minute(client):
    from django.contrib.sessions.models import Session

    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    key = client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    first = expiry()
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        assert client.get("/").status_code == 200
    assert expiry() == first  # within the minute: no write
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert client.get("/").status_code == 200
    assert expiry() == first + dt.timedelta(seconds=61)  # a minute later: the expiry slides


def test_a_signed_in_page_costs_at_most_three_queries_once_banners_are_cached(client, django_assert_max_num_queries):
    from ketacare.accounts.roles import Role

    client.force_login(UserFactory(role=Role.NURSE))
    client.get("/")  # fills the banner counts
    with django_assert_max_num_queries(3):  # the session, the user with their clinic, and nothing per banner
        assert client.get("/").status_code == 200
