"""Issue 16 point 2: no lockout bypass through other spellings of a username; throttling by client address; no
plain-text trace of names that match no account (privacy.md §1, person or entity authentication)."""

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from ketacare.accounts.models import LoginFailure, User
from ketacare.accounts.roles import Role
from ketacare.accounts.usernames import normalize_username, username_key
from ketacare.audit.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

SPELLINGS = ["nina", "nina ", "\tnina", "NINA", "ｎｉｎａ", " Nina\t", "\u200bnina", "nina\ufeff", "ＮＩＮＡ "]


def _login(client, username, password="wrong", ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_username_is_the_same_account(spelling):
    assert normalize_username(spelling) == "nina"


@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing(text):
    once = normalize_username(text)
    assert normalize_username(once) == once
    assert once == once.strip() and once == once.casefold()


@pytest.mark.parametrize("spelling", ["nina ", "\tnina", "ｎｉｎａ", "NINA"])
def test_a_variant_spelling_signs_in_as_the_one_account(client, spelling):
    user = UserFactory(username="nina")
    response = _login(client, spelling, PASSWORD)
    assert response.status_code == 302
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_SUCCEEDED).actor_id == user.pk


def test_eighteen_wrong_passwords_in_any_spelling_lock_the_account(client, settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_MAX_FAILURES_PER_IP = 1000  # only the username's throttle is under test here
    UserFactory(username="nina")
    for n in range(18):
        _login(client, SPELLINGS[n % len(SPELLINGS)], ip=f"10.0.{n}.1")  # a different address each time
    response = _login(client, "nina", PASSWORD, ip="10.9.9.9")
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get("/").status_code == 302
    assert LoginFailure.objects.count() == 5  # throttled tries are not counted again
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_THROTTLED).count() == 14
    # every failure is attributed to the one account and its clinic, under its one spelling
    assert set(AuditEvent.objects.filter(action__startswith="login_").values_list("actor_username", flat=True)) \
        == {"nina"}


def test_one_address_guessing_many_usernames_is_locked_out(client, settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_MAX_FAILURES_PER_IP = 10
    UserFactory(username="nina")
    for n in range(10):
        _login(client, f"guess{n}", ip="10.6.6.6")
    response = _login(client, "nina", PASSWORD, ip="10.6.6.6")
    assert "Too many failed sign-in attempts" in response.content.decode()
    throttled = AuditEvent.objects.get(action=AuditAction.LOGIN_THROTTLED)
    assert throttled.data["by"] == "ip" and throttled.actor_username == "nina"
    # another address is not affected
    assert _login(client, "nina", PASSWORD, ip="10.7.7.7").status_code == 302


def test_a_name_matching_no_account_is_kept_only_as_a_keyed_digest_and_shown_to_no_clinic(client, settings):
    auditor = UserFactory(role=Role.AUDITOR)
    typed = "MySecretPassw0rd!"  # a password typed into the username box
    _login(client, typed)
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.clinic_id is None and event.actor_username == ""
    assert event.data == {"username_key": username_key(typed)}
    assert typed.casefold() not in str(event.data).casefold()
    failure = LoginFailure.objects.get()
    assert failure.username_key == username_key(typed) and len(failure.username_key) == 64
    assert typed.casefold() not in failure.username_key
    # keyed: another SECRET_KEY gives another digest, so the digest cannot be looked up in a table of names
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789abcdef"
    assert username_key(typed) != failure.username_key
    client.force_login(auditor)
    shown = client.get("/audit/").context["page"].object_list
    assert not [e for e in shown if e.action == AuditAction.LOGIN_FAILED]


def test_staff_create_stores_the_normalised_username_and_refuses_a_variant_duplicate(client):
    admin = UserFactory(role=Role.CLINIC_ADMIN)
    client.force_login(admin)
    new = {"first_name": "Nora", "last_name": "Nilsen", "email": "", "role": Role.NURSE,
           "password": "a-long-enough-passphrase-42"}
    response = client.post("/accounts/staff/new/", {**new, "username": "\tＮｏｒａ.N "})
    assert response.status_code == 302, response.context["form"].errors
    assert User.objects.filter(username="nora.n").exists()
    response = client.post("/accounts/staff/new/", {**new, "username": "NORA.N"})
    assert "taken" in " ".join(response.context["form"].errors["username"])
    assert User.objects.filter(username__iexact="nora.n").count() == 1


def test_clinic_create_normalises_the_admin_username_and_refuses_a_taken_one(capsys):
    UserFactory(username="alice", clinic=ClinicFactory())
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="taken"):
        call_command("clinic", "create", "--code", "bos", "--name", "Boston", "--admin", " ALICE")
    call_command("clinic", "create", "--code", "nyc", "--name", "New York", "--admin", "\tＢｏｂ ")
    assert User.objects.get(username="bob").role == Role.CLINIC_ADMIN
    with pytest.raises(CommandError, match="lowercase letters"):
        call_command("clinic", "create", "--code", "sf", "--name", "SF", "--admin", "bad name!")


def test_token_create_finds_the_user_in_any_spelling(capsys):
    user = UserFactory(username="nina")
    call_command("token", "create", "--user", " ＮＩＮＡ")
    assert user.api_tokens.count() == 1
