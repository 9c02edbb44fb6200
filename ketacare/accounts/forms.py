from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from ketacare.accounts import throttle
from ketacare.accounts.usernames import normalize_username


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


class LoginForm(AuthenticationForm):
    """Username/password sign-in that refuses once the username, or the client's address, is locked out by repeated
    failures (accounts/throttle.py). The username is normalised before anything else reads it."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": "Too many failed sign-in attempts. Try again in %(minutes)s minutes or ask your clinic admin.",
    }

    locked: throttle.Lock | None = None

    def clean_username(self):
        return normalize_username(self.cleaned_data.get("username") or "")

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if username:
            self.locked = throttle.login_locked(username, client_ip(self.request))
            if self.locked is not None:
                raise forms.ValidationError(
                    self.error_messages["locked"], code="locked", params={"minutes": settings.LOGIN_LOCKOUT_MINUTES}
                )
        return super().clean()
