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


class TriStateField(forms.NullBooleanField):
    """Yes / No / not known, refusing anything else: Django's NullBooleanField reads "maybe" as "not known", which
    would store a guess nobody made."""

    # What Django's own widgets send: RadioSelect / Select ("True", "False", ""), NullBooleanSelect ("true", "false",
    # "unknown"; "2" and "3" in its older spelling).
    ACCEPTED = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False, "2": True,
                "3": False, "": None, "unknown": None}

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        if str(value) not in self.ACCEPTED:
            raise ValidationError("Choose Yes, No or not known.", code="invalid_choice")
        return self.ACCEPTED[str(value)]

    def validate(self, value):
        pass


class TriStateSelect(forms.NullBooleanSelect):
    """Django's Yes / No / Unknown select, passing what was sent on to TriStateField (the stock widget turns any
    unexpected value into "unknown" before a field can refuse it)."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)
