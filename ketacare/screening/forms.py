"""Forms of the intake wizard, the prescriber's decision, consent capture and consent documents."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.accounts.roles import Perm, role_has
from ketacare.core.forms import TriStateField
from ketacare.core.policy import NO_PUBLISHED_THRESHOLD
from ketacare.screening.domain import icd10
from ketacare.screening.domain.rules import NO_PUBLISHED_NUMBER, PARAM_SPECS, EligibilityParams
from ketacare.screening.models import (
    ConsentDocument,
    HeightUnit,
    Intake,
    Medication,
    Outcome,
    PriorTrial,
    ResponseChoice,
    RouteChoice,
    WeightUnit,
)

TRI_CHOICES = [("True", "Yes"), ("False", "No"), ("", "Not asked yet")]


def _tri_fields(form: forms.ModelForm) -> None:
    """Yes / No / Not asked yet, as three radio buttons; "not asked" is stored as unknown, never as No."""
    for name, field in list(form.fields.items()):
        if isinstance(field, forms.NullBooleanField):
            form.fields[name] = TriStateField(label=field.label, required=False,
                                                       widget=forms.RadioSelect(choices=TRI_CHOICES))


class _NoAutocomplete:
    def _quiet(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            field.widget.attrs.setdefault("autocomplete", "off")


class _IntakeForm(forms.ModelForm):
    """Parses the fields only; the service validates the whole intake (model and domain rules) in one place, so
    every refused field is reported at once."""

    def _post_clean(self):
        pass


class ReferralForm(_NoAutocomplete, _IntakeForm):
    class Meta:
        model = Intake
        fields = ("referring_clinician", "referring_organization", "referral_received_on", "referral_reason")
        widgets = {
            "referral_received_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "referral_reason": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._quiet()


PSYCHIATRIC = ("psychosis_history", "psychosis_current", "mania_or_bipolar_history", "mania_current",
               "substance_use_disorder_history", "substance_use_disorder_current", "ketamine_misuse_history",
               "prior_suicide_attempt", "suicidal_intent_current", "lacks_capacity_to_consent")
MEDICAL = ("hypertension", "hypertension_uncontrolled", "aneurysmal_vascular_disease", "arteriovenous_malformation",
           "intracerebral_hemorrhage_history", "cardiovascular_disease", "cerebrovascular_disease",
           "raised_intracranial_pressure", "hepatic_disease", "interstitial_cystitis", "pregnant", "breastfeeding")
ALLERGY = ("hypersensitivity_ketamine",)


class HistoryForm(_IntakeForm):
    class Meta:
        model = Intake
        fields = (*PSYCHIATRIC, "psychiatric_notes", *MEDICAL, "medical_notes", *ALLERGY, "allergies")
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in ("psychiatric_notes", "medical_notes",
                                                                        "allergies")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _tri_fields(self)

    def group(self, names):
        return [self[name] for name in names]

    @property
    def psychiatric(self):
        return self.group(PSYCHIATRIC)

    @property
    def medical(self):
        return self.group(MEDICAL)

    @property
    def allergy(self):
        return self.group(ALLERGY)


class MeasurementsForm(_NoAutocomplete, _IntakeForm):
    class Meta:
        model = Intake
        fields = ("weight_entered", "weight_unit", "height_entered", "height_unit", "measured_on",
                  "systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "vitals_taken_at")
        labels = {"weight_entered": "Weight", "weight_unit": "Weight unit", "height_entered": "Height",
                  "height_unit": "Height unit"}
        widgets = {
            "measured_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "vitals_taken_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "weight_entered": forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            "height_entered": forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Shown as "Unit" next to its value; the accessible name says which.
        self.fields["weight_unit"] = forms.ChoiceField(
            label="Unit", choices=WeightUnit.choices, initial=WeightUnit.KG, required=False,
            widget=forms.Select(attrs={"aria-label": "Weight unit"}))
        self.fields["height_unit"] = forms.ChoiceField(
            label="Unit", choices=HeightUnit.choices, initial=HeightUnit.CM, required=False,
            widget=forms.Select(attrs={"aria-label": "Height unit"}))
        self.fields["vitals_taken_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        if not self.is_bound:
            today = timezone.localdate()
            if self.instance.measured_on is None:
                self.initial["measured_on"] = today
            if self.instance.vitals_taken_at is None:
                self.initial["vitals_taken_at"] = timezone.localtime().replace(second=0, microsecond=0)
            else:
                self.initial["vitals_taken_at"] = timezone.localtime(self.instance.vitals_taken_at)
        self._quiet()

    def clean(self):
        data = super().clean()
        # A pre-filled date or time with nothing measured records nothing.
        if data.get("weight_entered") is None and data.get("height_entered") is None:
            data["measured_on"] = None
        vitals = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct")
        if all(data.get(name) is None for name in vitals):
            data["vitals_taken_at"] = None
        return data


class DiagnosisForm(forms.Form):
    code = forms.CharField(label="ICD-10-CM code", max_length=12,
                           widget=forms.TextInput(attrs={"list": "icd10-codes", "autocomplete": "off",
                                                         "placeholder": "e.g. F40.10"}))
    note = forms.CharField(label="Note (optional)", max_length=200, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    onset_on = forms.DateField(
        label="Onset / event date", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Required for a heart attack, stroke or TIA, unstable angina, acute heart failure or significant "
                  "arrhythmia: a recent event is a stop, an older one a caution.")

    @staticmethod
    def table():
        return sorted(icd10.TABLE.values(), key=lambda entry: entry.code)


class MedicationForm(_NoAutocomplete, forms.ModelForm):
    class Meta:
        model = Medication
        fields = ("name", "dose", *Medication.FLAGS, "lorazepam_eq_mg_per_day")
        labels = {"name": "Medication"}
        widgets = {"lorazepam_eq_mg_per_day": forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"})}
        help_texts = {"lorazepam_eq_mg_per_day": "Benzodiazepines only: total daily dose as lorazepam equivalent."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._quiet()

    @property
    def flags(self):
        return [self[name] for name in Medication.FLAGS]


class TrialForm(_NoAutocomplete, forms.ModelForm):
    class Meta:
        model = PriorTrial
        fields = ("name", "kind", "dose_mg_per_day", "duration_weeks", "adequate", "response", "current_episode")
        widgets = {"dose_mg_per_day": forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("adequate", "current_episode"):
            label = self.fields[name].label
            self.fields[name] = TriStateField(
                label=label, required=False,
                widget=forms.Select(choices=[("", "Unknown"), ("True", "Yes"), ("False", "No")]))
        self.fields["response"].choices = [("", "Unknown"), *ResponseChoice.choices]
        self._quiet()


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    justification = forms.CharField(
        label="Justification / reason", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required for cautions, a decline or an override.")

    def __init__(self, *args, decision=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(Outcome.APPROVE, "Approve"), (Outcome.DECLINE, "Decline")]
        if decision is not None and decision.status == "not_eligible":
            choices = [(Outcome.OVERRIDE, "Override the exclusion (needs a second prescriber)"),
                       (Outcome.DECLINE, "Decline")]
        self.fields["outcome"].choices = choices
        prefix = f"d{decision.pk}-" if decision is not None else ""
        self.fields["outcome"].widget.attrs["id"] = f"{prefix}outcome"
        self.fields["justification"].widget.attrs["id"] = f"{prefix}justification"


def witness_choices(clinic_id):
    staff = User.objects.filter(clinic_id=clinic_id, is_active=True).order_by("last_name", "first_name")
    return [u for u in staff if role_has(u.role, Perm.CLINICAL_RECORD)]


def _staff_label(user) -> str:
    return f"{user.get_full_name() or user.username} ({user.get_role_display()})"


class ConsentForm(forms.Form):
    typed_name = forms.CharField(label="Patient types their full name", max_length=200,
                                 widget=forms.TextInput(attrs={"autocomplete": "off"}))
    witness = forms.ModelChoiceField(queryset=User.objects.none(), label="Staff witness")
    understood = forms.BooleanField(
        label="The patient has read this document and had their questions answered", required=True,
        error_messages={"required": "Confirm the patient read the document and had their questions answered."})

    def __init__(self, *args, clinic_id=None, witness=None, route="", **kwargs):
        super().__init__(*args, **kwargs)
        ids = [u.pk for u in witness_choices(clinic_id)]
        self.fields["witness"].queryset = User.objects.filter(pk__in=ids).order_by("last_name", "first_name")
        self.fields["witness"].label_from_instance = _staff_label
        if witness is not None and witness.pk in ids:
            self.initial.setdefault("witness", witness.pk)
        for name, field in self.fields.items():
            field.widget.attrs["id"] = f"{route}-{name}"


class WithdrawForm(forms.Form):
    withdrawal_reason = forms.CharField(label="How and why the patient withdrew consent",
                                        widget=forms.Textarea(attrs={"rows": 3}))


class ConsentDocumentForm(forms.ModelForm):
    class Meta:
        model = ConsentDocument
        fields = ("route", "version", "title", "effective_on", "body")
        widgets = {
            "effective_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "body": forms.Textarea(attrs={"rows": 16}),
        }
        help_texts = {"version": "e.g. 1.0 or 2026-1. Each route's versions are distinct; a published version "
                                 "never changes.",
                      "body": "Plain text; blank lines separate paragraphs."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["route"].choices = RouteChoice.choices

    def validate_unique(self):
        # The clinic is set by the service, which checks (clinic, route, version).
        pass



class EligibilityParamsForm(forms.Form):
    """The clinic's screening thresholds, each with its cited default; a parameter a source fixes is not offered."""

    reason = forms.CharField(label="Reason for the change", max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="e.g. medical director decision, date and reference.")

    def __init__(self, *args, current: EligibilityParams, **kwargs):
        super().__init__(*args, **kwargs)
        default = EligibilityParams()
        self.params = [name for name, spec in PARAM_SPECS.items() if not spec.fixed]
        for name in self.params:
            spec, value = PARAM_SPECS[name], getattr(default, name)
            field_class = forms.DecimalField if isinstance(value, Decimal) else forms.IntegerField
            bounds: dict[str, Any] = {"min_value": spec.low, "max_value": spec.high}
            self.fields[name] = field_class(label=spec.label, **bounds, initial=getattr(current, name),
                                            help_text=f"Default {value}: {spec.source}"
                                            + (f" ({NO_PUBLISHED_THRESHOLD})" if name in NO_PUBLISHED_NUMBER else ""))
        self.order_fields([*self.params, "reason"])

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.params}
