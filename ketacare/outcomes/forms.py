import datetime as dt
from typing import cast

from django import forms

from ketacare.outcomes.domain.definitions import DEFAULT_DEFINITIONS
from ketacare.outcomes.models import OutcomeSetting, ProgressLetter
from ketacare.outcomes.selectors import CohortFilter


class CohortForm(forms.Form):
    """Cohort filters for clinicians: first-dose dates, route, protocol, diagnosis."""

    start_on = forms.DateField(label="First dose from", required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(label="First dose to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    route = forms.ChoiceField(label="Route", required=False)
    protocol_ref = forms.ChoiceField(label="Protocol", required=False)
    diagnosis = forms.ChoiceField(label="Diagnosis", required=False)

    def __init__(self, data=None, *, options: dict, **kwargs):
        super().__init__(data, **kwargs)
        cast(forms.ChoiceField, self.fields["route"]).choices = [("", "All routes"), *options["routes"]]
        cast(forms.ChoiceField, self.fields["protocol_ref"]).choices = [("", "All protocols"), *options["protocols"]]
        cast(forms.ChoiceField, self.fields["diagnosis"]).choices = [("", "All diagnoses"), *options["diagnoses"]]

    def clean(self):
        data = super().clean()
        if data.get("start_on") and data.get("end_on") and data["start_on"] > data["end_on"]:
            self.add_error("end_on", "The end date is before the start date.")
        return data

    def cohort(self) -> CohortFilter:
        d = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return CohortFilter(start_on=d.get("start_on"), end_on=d.get("end_on"), route=d.get("route", ""),
                            protocol_ref=d.get("protocol_ref", ""), diagnosis=d.get("diagnosis", ""))


class ResearchCohortForm(CohortForm):
    """Researchers filter by year of first dose: the de-identified view never shows an exact date."""

    start_on = None  # type: ignore[assignment]  # removes the base form's date fields (Django's way)
    end_on = None  # type: ignore[assignment]
    start_year = forms.IntegerField(label="First dose from (year)", required=False, min_value=2000, max_value=2100)
    end_year = forms.IntegerField(label="First dose to (year)", required=False, min_value=2000, max_value=2100)
    field_order = ["start_year", "end_year", "route", "protocol_ref", "diagnosis"]

    def clean(self):
        data = forms.Form.clean(self)
        if data.get("start_year") and data.get("end_year") and data["start_year"] > data["end_year"]:
            self.add_error("end_year", "The end year is before the start year.")
        return data

    def cohort(self) -> CohortFilter:
        d = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return CohortFilter(
            start_on=dt.date(d["start_year"], 1, 1) if d.get("start_year") else None,
            end_on=dt.date(d["end_year"], 12, 31) if d.get("end_year") else None,
            route=d.get("route", ""), protocol_ref=d.get("protocol_ref", ""), diagnosis=d.get("diagnosis", ""))


class OutcomeSettingForm(forms.ModelForm):
    instrument_key = forms.ChoiceField(label="Instrument",
                                       choices=[(k, k.upper()) for k in sorted(DEFAULT_DEFINITIONS)])
    response_strict = forms.TypedChoiceField(
        label="Response comparison", required=False, coerce=lambda v: v == "True", empty_value=None,
        choices=[("", "Keep the default"), ("False", "at least the percentage (≥)"),
                 ("True", "strictly more than the percentage (>)")])

    class Meta:
        model = OutcomeSetting
        fields = ["instrument_key", "response_pct_reduction", "response_strict", "remission_max_total",
                  "relapse_consecutive", "baseline_window_days", "reason"]
        labels = {"response_pct_reduction": "Response: reduction from baseline (%)",
                  "remission_max_total": "Remission: highest total (inclusive)",
                  "relapse_consecutive": "Relapse: consecutive measurements needed",
                  "baseline_window_days": "Baseline: no older than (days before the first dose)",
                  "reason": "Reason for the change"}
        widgets = {"reason": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"response_pct_reduction": "Leave empty to keep the instrument's definition."}


class LetterForm(forms.ModelForm):
    class Meta:
        model = ProgressLetter
        fields = ["recipient_name", "recipient_organization", "recipient_address", "summary"]
        widgets = {"recipient_address": forms.Textarea(attrs={"rows": 3}),
                   "summary": forms.Textarea(attrs={"rows": 10})}


class LetterSendForm(forms.Form):
    sent_via = forms.CharField(label="Sent by", max_length=60, help_text="e.g. fax, secure e-mail, post")
