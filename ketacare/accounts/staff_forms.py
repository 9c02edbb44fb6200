from django import forms
from django.contrib.auth.password_validation import validate_password

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.accounts.usernames import USERNAME_PATTERN, USERNAME_RULE, normalize_username


class UsernameField(forms.RegexField):
    """The username in its one normalised spelling (accounts/usernames.py) before the pattern is checked."""

    def to_python(self, value):
        return normalize_username(super().to_python(value) or "")


class StaffCreateForm(forms.Form):
    username = UsernameField(regex=USERNAME_PATTERN, max_length=40, error_messages={"invalid": USERNAME_RULE})
    first_name = forms.CharField(max_length=60)
    last_name = forms.CharField(max_length=60)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), min_length=12,
                               help_text="At least 12 characters. Give it to the person privately; they should "
                                         "change it.")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username=username).exists():
            raise forms.ValidationError("This username is taken (usernames are unique across the network).")
        return username

    def clean(self):
        data = super().clean()
        if data.get("password"):
            try:
                validate_password(data["password"], User(username=data.get("username", ""),
                                                         first_name=data.get("first_name", ""),
                                                         last_name=data.get("last_name", "")))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class StaffChangeForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(required=False, label="Active (may sign in)")
