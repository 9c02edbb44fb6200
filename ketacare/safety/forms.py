from django import forms


class AcknowledgeForm(forms.Form):
    action = forms.CharField(
        label="Action taken", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done, e.g. “C-SSRS screen by Dr Raman at 10:40: low risk, safety plan reviewed, "
                  "dosing may proceed.”",
        error_messages={"required": "Describe the action taken (e.g. the assessment done and its outcome)."})
