from django import forms

from ketacare.patients.models import Patient
from ketacare.patients.services import EDITABLE_FIELDS


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = EDITABLE_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "state": forms.TextInput(attrs={"size": 2}),
        }
        help_texts = {"mrn": "Leave blank to assign the clinic's next number."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mrn"].required = False
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "off")

    def validate_unique(self):
        # The clinic is set by the service, so uniqueness of (clinic, MRN) is checked there.
        pass
