from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from ketacare.accounts import throttle


class LoginForm(AuthenticationForm):
    """Username/password sign-in that refuses once the username is locked out by repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": "Too many failed sign-in attempts. Try again in %(minutes)s minutes or ask your clinic admin.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if username and throttle.login_locked(username):
            self.locked = True
            raise forms.ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": settings.LOGIN_LOCKOUT_MINUTES}
            )
        return super().clean()
