"""Staff accounts and API tokens."""

import datetime as dt
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from ketacare.accounts.models import ApiToken, TokenScope, User
from ketacare.accounts.roles import Role
from ketacare.accounts.usernames import USERNAME_PATTERN, USERNAME_RULE, normalize_username
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.models import Clinic

TOKEN_PREFIX = "kc_"


@transaction.atomic
def token_create(*, user: User, name: str = "cli", actor: User | None = None, days: int | None = None,
                 scope: str = TokenScope.READ_WRITE) -> str:
    """Create a bearer token for `user` and return it; only its hash is kept, so it is shown once. It expires after
    `days` (KETACARE_TOKEN_DEFAULT_DAYS unless given, at most KETACARE_TOKEN_MAX_DAYS); a "read" token cannot write."""
    days = settings.KETACARE_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.KETACARE_TOKEN_MAX_DAYS:
        raise ValidationError(f"a token lasts 1 to {settings.KETACARE_TOKEN_MAX_DAYS} days, not {days}")
    if scope not in TokenScope.values:
        raise ValidationError(f"unknown token scope {scope!r} (use {' or '.join(TokenScope.values)})")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    api_token = ApiToken.objects.create(user=user, name=name[:80], prefix=token[:10], key_hash=ApiToken.hash(token),
                                        created_at=now, expires_at=now + dt.timedelta(days=days), scope=scope)
    audit_record(actor=actor or user, action=AuditAction.TOKEN_CREATED, target=api_token,
                 data={"name": name[:80], "days": days, "scope": scope})
    return token


@transaction.atomic
def token_revoke(*, api_token: ApiToken, actor: User) -> None:
    ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(revoked_at=clock.now())
    audit_record(actor=actor, action=AuditAction.TOKEN_REVOKED, target=api_token)


@transaction.atomic
def clinic_create(*, code: str, name: str, admin_username: str, admin_email: str = "",
                  time_zone: str = "America/New_York") -> tuple[Clinic, User, str]:
    """A new clinic of the network with its first clinic admin (who then adds the rest of the staff in the app).

    The admin's password is generated and returned once; it is never stored in clear. Returns (clinic, admin,
    password)."""
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {time_zone!r} (use an IANA name such as America/New_York)") from None
    admin_username = normalize_username(admin_username)
    if not USERNAME_PATTERN.fullmatch(admin_username):
        raise ValidationError(f"admin username {admin_username!r}: {USERNAME_RULE}")
    if User.objects.filter(username=admin_username).exists():
        raise ValidationError(f"the username {admin_username!r} is taken (usernames are unique across the network)")
    if Clinic.objects.filter(code=code).exists():
        raise ValidationError(f"a clinic with code {code!r} exists already")
    clinic = Clinic(code=code, name=name, time_zone=time_zone)
    clinic.full_clean()
    clinic.save()
    password = secrets.token_urlsafe(18)
    admin = User(username=admin_username, email=admin_email, role=Role.CLINIC_ADMIN, clinic=clinic)
    admin.set_password(password)
    admin.full_clean(exclude=["password"])
    admin.save()
    audit_record(actor=admin, action=AuditAction.CLINIC_CREATED, target=clinic, data={"code": code})
    audit_record(actor=admin, action=AuditAction.STAFF_CREATED, target=admin, data={"role": Role.CLINIC_ADMIN})
    return clinic, admin, password


@transaction.atomic
def staff_create(*, actor: User, username: str, first_name: str, last_name: str, email: str, role: str,
                 password: str) -> User:
    """A clinic admin adds a member of staff to their own clinic."""
    user = User(username=normalize_username(username), first_name=first_name, last_name=last_name, email=email,
                role=role, clinic_id=actor.clinic_id)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action=AuditAction.STAFF_CREATED, target=user, data={"role": role})
    return user


@transaction.atomic
def staff_update(*, actor: User, user: User, role: str, is_active: bool) -> User:
    """Change a colleague's role or block their sign-in. An admin cannot lock themselves out."""
    if user.pk == actor.pk and (role != actor.role or not is_active):
        raise ValidationError("You cannot change your own role or deactivate yourself; ask another admin.")
    changed: dict[str, list[object]] = {}
    if user.role != role:
        changed["role"] = [user.role, role]
    if user.is_active != is_active:
        changed["is_active"] = [user.is_active, is_active]
    if not changed:
        return user
    user.role, user.is_active = role, is_active
    user.full_clean(exclude=["password"])
    user.save(update_fields=["role", "is_active"])
    if "is_active" in changed:
        # Deactivated or reactivated: every browser session the user had is over (the epoch is in its auth hash), so
        # reactivation never revives a session from before.
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        user.refresh_from_db(fields=["session_epoch"])
    if not is_active:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=clock.now())
    audit_record(actor=actor, action=AuditAction.STAFF_UPDATED, target=user, data={"changed": changed})
    return user


@transaction.atomic
def password_change(*, user: User, new_password: str) -> None:
    """A member of staff changes their own password (the form has checked the old one and the password rules).
    Their other browser sessions end (the session hash includes the password)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(actor=user, action=AuditAction.PASSWORD_CHANGED, target=user)
