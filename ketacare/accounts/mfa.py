"""The second factor: TOTP (django-otp's TOTP devices) and single-use recovery codes (stored as keyed digests).

A browser session is signed in in two steps: the password (accounts/views.py::login), then, if the user has a
confirmed device, its code (or a recovery code); a user who must have a second factor (domain/mfa.py) and has none is
sent to enrolment first. Until then `SecondFactorMiddleware` lets the session reach only these steps and sign-out.
The state is kept in the session under `SESSION_KEY` and decided once per session, on its first request, whichever
way the session was signed in (fail closed). Every enrolment, use, failure and reset is audited; failures count
toward the sign-in throttle (accounts/throttle.py) like wrong passwords.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.crypto import salted_hmac
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts import throttle
from ketacare.accounts.access import require
from ketacare.accounts.domain import mfa as rules
from ketacare.accounts.models import MfaSetting, RecoveryCode, User
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError, NotFound
from ketacare.core.revisions import current_revision, revise

SESSION_KEY = "kc_mfa"
VERIFIED = "verified"
NOT_REQUIRED = "not_required"
VERIFY = "verify"
ENROL = "enrol"
_CODE_SALT = "ketacare.accounts.recovery-code"


class MfaRefused(DomainError):
    """That code is not right."""

    code = "mfa.refused"
    http_status = 422


class MfaLocked(MfaRefused):
    """Too many failed attempts."""

    code = "mfa.locked"
    http_status = 429


def clinic_requires_all(clinic_id: int | None) -> bool:
    setting = current_revision(MfaSetting, clinic_id=clinic_id) if clinic_id is not None else None
    return bool(setting and setting.required_for_all)


def mfa_required_for(user: User) -> bool:
    return rules.mfa_required(user.role, clinic_requires_all=clinic_requires_all(user.clinic_id))


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def next_step(request) -> str | None:
    """What this signed-in session must do before any page: VERIFY, ENROL or nothing. Decided once per session."""
    state = request.session.get(SESSION_KEY)
    if state in (VERIFIED, NOT_REQUIRED):
        return None
    user = request.user
    if confirmed_device(user) is not None:
        return VERIFY
    if mfa_required_for(user):
        return ENROL
    request.session[SESSION_KEY] = NOT_REQUIRED
    return None


def _code_hash(code: str) -> str:
    return salted_hmac(_CODE_SALT, rules.normalize_code(code), algorithm="sha256").hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = rules.new_recovery_codes()
    now = clock.now()
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_code_hash(c), created_at=now)
                                      for c in codes])
    return codes


def _mark_verified(request, device: TOTPDevice | None) -> None:
    request.session.cycle_key()  # a new session id at the change of privilege
    request.session[SESSION_KEY] = VERIFIED
    if device is not None:
        otp_login(request, device)


def _refuse(user: User, ip: str | None, *, step: str) -> None:
    """A wrong code: one more failure for the sign-in throttle, audited; raises MfaLocked once the throttle says so."""
    throttle.login_failure_record(user.username, ip)
    audit_record(actor=user, action=AuditAction.MFA_FAILED, target=user, data={"step": step})


def _check_not_locked(user: User, ip: str | None) -> None:
    if throttle.login_locked(user.username, ip) is not None:
        raise MfaLocked(f"Too many failed attempts. Try again in {settings.LOGIN_LOCKOUT_MINUTES} minutes or ask "
                        "your clinic admin.")


def enrolment_device(user: User) -> TOTPDevice:
    """The device being enrolled: the same secret until it is confirmed (reloading the page keeps the QR code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def mfa_enrol_confirm(*, request, code: str, ip: str | None) -> list[str]:
    """Confirm the authenticator app with its first code; returns the new recovery codes (shown once)."""
    user = request.user
    _check_not_locked(user, ip)
    device = enrolment_device(user)
    typed = rules.normalize_code(code)
    with transaction.atomic():
        ok = rules.looks_like_totp(typed) and device.verify_token(typed)
        if not ok:
            _refuse(user, ip, step="enrol")
    if not ok:
        _check_not_locked(user, ip)
        raise MfaRefused("That code is not right. Enter the 6 digits your app shows now.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        throttle.login_failures_clear(user.username)
        audit_record(actor=user, action=AuditAction.MFA_ENROLLED, target=user, data={"device": "totp"})
        _mark_verified(request, device)
    return codes


def mfa_verify(*, request, code: str, ip: str | None) -> str:
    """The second sign-in step: a code from the app or a recovery code. Returns "totp" or "recovery_code"."""
    user = request.user
    _check_not_locked(user, ip)
    typed = rules.normalize_code(code)
    device = confirmed_device(user)
    with transaction.atomic():
        method = ""
        if device is not None and rules.looks_like_totp(typed) and device.verify_token(typed):
            method = "totp"
        elif rules.looks_like_recovery_code(typed):
            used = RecoveryCode.objects.filter(user=user, code_hash=_code_hash(typed), used_at__isnull=True).update(
                used_at=clock.now())
            method = "recovery_code" if used else ""
        if not method:
            _refuse(user, ip, step="verify")
    if not method:
        _check_not_locked(user, ip)
        raise MfaRefused("That code is not right. Enter the 6 digits your app shows now, or one of your recovery "
                         "codes.")
    with transaction.atomic():
        throttle.login_failures_clear(user.username)
        if method == "recovery_code":
            left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
            audit_record(actor=user, action=AuditAction.MFA_RECOVERY_CODE_USED, target=user, data={"left": left})
        else:
            audit_record(actor=user, action=AuditAction.MFA_VERIFIED, target=user, data={"method": method})
        _mark_verified(request, device if method == "totp" else None)
    return method


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def recovery_codes_renew(*, user: User) -> list[str]:
    """New recovery codes for a verified user (the old ones stop working); shown once."""
    if confirmed_device(user) is None:
        raise ValidationError("Set up an authenticator app first.")
    codes = _new_recovery_codes(user)
    audit_record(actor=user, action=AuditAction.MFA_RECOVERY_CODES_RENEWED, target=user, data={"count": len(codes)})
    return codes


@transaction.atomic
def mfa_reset(*, actor: User, user: User) -> None:
    """A clinic admin removes a colleague's second factor (a lost phone and no recovery codes). Every session of the
    colleague ends; at the next sign-in they enrol again (if it is required) before anything else."""
    require(actor, Perm.STAFF_MANAGE)
    if user.clinic_id != actor.clinic_id:
        raise NotFound()
    if user.pk == actor.pk:
        raise ValidationError("You cannot reset your own second factor; ask another admin.")
    devices, _ = TOTPDevice.objects.filter(user=user).delete()
    codes, _ = RecoveryCode.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    audit_record(actor=actor, action=AuditAction.MFA_RESET, target=user,
                 data={"devices_removed": devices, "recovery_codes_removed": codes})


@transaction.atomic
def mfa_setting_change(*, actor: User, required_for_all: bool, reason: str) -> MfaSetting:
    """Whether the clinic requires a second factor of every member of staff, with the reason."""
    require(actor, Perm.CLINIC_CONFIGURE)
    row = revise(MfaSetting, actor=actor, reason=reason, required_for_all=required_for_all,
                 reason_prompt="Say why, e.g. 'all staff reach patient records from home'.")
    audit_record(actor=actor, action=AuditAction.MFA_SETTING_CHANGED, target=row,
                 data={"required_for_all": required_for_all, "revision": row.revision})
    return row
