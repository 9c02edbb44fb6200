from django import forms

from ketacare.safety.domain.grouping import COMMON_ACTIONS, compose_action

ACTION_REQUIRED = "Describe the action taken or choose it above (e.g. the assessment done and its outcome)."


class CommonActionsMixin:
    """`common` (the usual actions, ticked) and `action` (free text) become one `action` text: at least one."""

    def clean(self):
        data = super().clean() or {}
        action = compose_action(data.get("common") or [], data.get("action") or "")
        if not action:
            self.add_error("action", ACTION_REQUIRED)
        elif len(action) > 2000:
            self.add_error("action", "The action taken is at most 2000 characters.")
        else:
            data["action"] = action
        return data


def common_actions_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label="Action taken", required=False, widget=forms.CheckboxSelectMultiple,
                                     choices=[(a, a) for a in COMMON_ACTIONS])


class AcknowledgeForm(CommonActionsMixin, forms.Form):
    common = common_actions_field()
    action = forms.CharField(
        label="Details or other action", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done, e.g. “C-SSRS screen by Dr Raman at 10:40: low risk, safety plan reviewed, "
                  "dosing may proceed.”")


class _StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.get_role_display()})"


class ShiftForm(forms.Form):
    clinician = _StaffChoice(queryset=None, label="On call")
    backup = _StaffChoice(queryset=None, required=False, label="Backup (second clinician)")
    starts_at = forms.DateTimeField(label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label="To", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, clinicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinicians
        self.fields["backup"].queryset = clinicians


class OnCallSettingForm(forms.Form):
    fallback_clinician = _StaffChoice(queryset=None, required=False, label="Fallback clinician",
                                      help_text="Told when nobody is on call, and second when the shift has no backup.")
    escalation_delay_minutes = forms.IntegerField(
        label="Escalate after (minutes)", min_value=1, max_value=240,
        help_text="An urgent alert not acknowledged this long goes to the next contact, then to the clinic admins.")
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, clinicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fallback_clinician"].queryset = clinicians


class ContactForm(forms.Form):
    user = _StaffChoice(queryset=None, label="Staff member")
    mobile_e164 = forms.CharField(max_length=20, required=False, label="Mobile (international form)",
                                  help_text="e.g. +15551234567; leave empty to remove")

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff
