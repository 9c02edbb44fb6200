"""Staff forms of the portal (the patient's pages parse their few fields in the views)."""

from django import forms

from ketacare.portal.choices import Channel, Language


class ContactForm(forms.Form):
    email = forms.EmailField(required=False, max_length=254)
    mobile = forms.CharField(required=False, max_length=20, label="Mobile number")
    preferred_channel = forms.ChoiceField(choices=Channel.choices, label="Preferred channel")
    email_opt_out = forms.BooleanField(required=False, label="No email (patient opted out)")
    sms_opt_out = forms.BooleanField(required=False, label="No text messages (patient opted out)")
    language = forms.ChoiceField(choices=Language.choices, label="Language of the patient's pages and messages")
