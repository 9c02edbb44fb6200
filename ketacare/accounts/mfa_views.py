"""Your account (password, second factor), the second sign-in step, enrolment of an authenticator app, recovery
codes, and the admin's reset and setting."""

import base64

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import auth, messages
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ketacare.accounts import mfa, services
from ketacare.accounts.access import requires
from ketacare.accounts.forms import client_ip
from ketacare.accounts.middleware import second_factor_step
from ketacare.accounts.models import MfaSetting, User
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core.revisions import current_revision

NEXT_KEY = "kc_next"


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, label="Code", strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none",
                                                         "spellcheck": "false", "autofocus": True}))


class MfaSettingForm(forms.Form):
    required_for_all = forms.BooleanField(required=False,
                                          label="Require a second factor of every member of staff")
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Why, for the record (e.g. staff open patient records from home).")


def remember_next(request, target: str | None) -> None:
    """Keep where the person was going (a safe, same-site path only) for after the second step."""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        request.session[NEXT_KEY] = target


def _continue(request):
    return redirect(request.session.pop(NEXT_KEY, None) or "home")


def _qr_data_uri(uri: str) -> str:
    svg = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _signed_out_locked(request, exc: mfa.MfaLocked):
    with transaction.atomic():
        audit_record(actor=request.user, action=AuditAction.LOGGED_OUT, target=request.user,
                     data={"reason": "second factor locked"})
        auth.logout(request)
    messages.error(request, str(exc))
    return redirect("accounts:login")


@second_factor_step
@requires(Perm.HOME)
def mfa_verify(request):
    step = mfa.next_step(request)
    if step != mfa.VERIFY:
        return redirect("accounts:mfa-setup") if step == mfa.ENROL else _continue(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            method = mfa.mfa_verify(request=request, code=form.cleaned_data["code"], ip=client_ip(request))
        except mfa.MfaLocked as exc:
            return _signed_out_locked(request, exc)
        except mfa.MfaRefused as exc:
            form.add_error("code", str(exc))
        else:
            if method == "recovery_code":
                left = mfa.recovery_codes_left(request.user)
                messages.warning(request, f"You signed in with a recovery code; {left} left. Each works once: make "
                                          "new ones on Your account if you are running out.")
            return _continue(request)
    return render(request, "accounts/mfa_verify.html", {"form": form}, status=422 if form.errors else 200)


@second_factor_step
@requires(Perm.HOME)
def mfa_setup(request):
    step = mfa.next_step(request)
    if step == mfa.VERIFY:
        return redirect("accounts:mfa-verify")
    device = mfa.enrolment_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.mfa_enrol_confirm(request=request, code=form.cleaned_data["code"], ip=client_ip(request))
        except mfa.MfaLocked as exc:
            return _signed_out_locked(request, exc)
        except mfa.MfaRefused as exc:
            form.add_error("code", str(exc))
        else:
            return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "first_time": True})
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "accounts/mfa_setup.html", {
        "form": form, "required": step == mfa.ENROL, "qr": _qr_data_uri(device.config_url), "uri": device.config_url,
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
    }, status=422 if form.errors else 200)


@requires(Perm.HOME)
def account(request):
    """Your account: the second factor's state and recovery codes."""
    user = request.user
    return render(request, "accounts/account.html", {
        "device": mfa.confirmed_device(user), "codes_left": mfa.recovery_codes_left(user),
        "required": mfa.mfa_required_for(user),
    })


@requires(Perm.HOME)
def password_change(request):
    """Your account: change your own password (the old one first; the clinic's password rules apply)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_change(user=request.user, new_password=form.cleaned_data["new_password1"])
        auth.update_session_auth_hash(request, request.user)  # this session stays signed in; the others end
        messages.success(request, "Your password was changed. Other browsers signed in as you were signed out.")
        return redirect("accounts:account")
    return render(request, "accounts/password_change.html", {"form": form}, status=422 if form.errors else 200)


@require_POST
@requires(Perm.HOME)
def recovery_codes_renew(request):
    try:
        codes = mfa.recovery_codes_renew(user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:account")
    return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "first_time": False})


@require_POST
@requires(Perm.STAFF_MANAGE)
def staff_mfa_reset(request, user_id: int):
    member = get_object_or_404(User, pk=user_id, clinic_id=request.user.clinic_id)
    try:
        mfa.mfa_reset(actor=request.user, user=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{member.get_full_name() or member.username}'s second factor was removed and their "
                                  "sessions ended; they set up a new one at their next sign-in.")
    return redirect("accounts:staff-edit", user_id=member.pk)


@requires(Perm.CLINIC_CONFIGURE)
def mfa_setting(request):
    current = current_revision(MfaSetting, clinic_id=request.user.clinic_id)
    form = MfaSettingForm(request.POST or None,
                          initial={"required_for_all": bool(current and current.required_for_all)})
    if request.method == "POST" and form.is_valid():
        try:
            mfa.mfa_setting_change(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Saved the clinic's second-factor setting.")
            return redirect("accounts:staff")
    return render(request, "accounts/mfa_setting.html", {"form": form, "current": current},
                  status=422 if form.errors else 200)
