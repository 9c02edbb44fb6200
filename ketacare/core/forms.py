"""Form helpers shared by every app's views."""

from django import forms
from django.core.exceptions import ValidationError


def attach_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's refusal on the form: each message next to its field when the form has that field, otherwise
    at the top of the form. Nothing is saved when a service refuses, so the page is shown again with the input kept."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
