"""Forms of the treatment pages. They parse and label input; the rules are the services' and the domain's."""

import dataclasses
from decimal import Decimal
from typing import cast

from django import forms

from ketacare.core.forms import TriStateField, TriStateSelect
from ketacare.core.policy import NO_PUBLISHED_THRESHOLD
from ketacare.safety.domain.grouping import COMMON_ACTIONS, compose_action
from ketacare.treatment import choices as c
from ketacare.treatment.domain.protocols import DEFAULT_PROTOCOLS, Protocol, WeightBasedDoseRule
from ketacare.treatment.domain.vitals import Thresholds
from ketacare.treatment.models import DosingSession, RemsSetting
from ketacare.treatment.policy import PROTOCOL_PLACEHOLDERS
from ketacare.treatment.services import VITALS_FIELDS

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO_UNKNOWN = forms.Select(choices=[("unknown", "Not asked"), ("true", "Yes"), ("false", "No")])


def _number(label, low, high, **kwargs):
    return forms.IntegerField(label=label, required=False, min_value=low, max_value=high,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": low, "max": high}),
                              **kwargs)


class CourseForm(forms.Form):
    protocol = forms.ChoiceField(label="Protocol")
    start_on = forms.DateField(label="First session on", widget=DATE)
    open_ended_cycles = forms.IntegerField(
        label="Maintenance cycles to plan", min_value=0, max_value=52, initial=0,
        help_text="For open-ended phases (maintenance, integration): how many cycles to put on the schedule now.")
    open_ended_cycle_days = forms.TypedChoiceField(
        label="Maintenance interval", required=False, coerce=int, empty_value=None,
        choices=[("", "Protocol default"), (7, "Weekly"), (14, "Every 2 weeks"), (21, "Every 3 weeks"),
                 (28, "Every 4 weeks")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protocol"].choices = [(ref, p.title) for ref, p in DEFAULT_PROTOCOLS.items()]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=c.SessionState.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason", required=False, max_length=1000)
    room = forms.CharField(label="Room", required=False, max_length=20)


class PredoseForm(forms.ModelForm):
    """The pre-dose checklist a nurse completes after check-in (the BP decision is the prescriber's)."""

    class Meta:
        model = DosingSession
        fields = ["actual_weight_kg", "height_cm", "ibw_sex", "weight_basis", "pregnancy_check", "escort_confirmed",
                  "escort_name", "benzodiazepines", "non_benzodiazepine_sedative_hypnotics", "psychostimulants",
                  "maois", "opioids", "elevated_bp_decision"]
        labels = {
            "actual_weight_kg": "Weight today (kg)", "height_cm": "Height (cm)",
            "ibw_sex": "Sex constant for ideal body weight", "weight_basis": "Dose on",
            "pregnancy_check": "Pregnancy check", "escort_confirmed": "Escort / ride home confirmed",
            "escort_name": "Escort name or ride arranged", "benzodiazepines": "Taking benzodiazepines",
            "non_benzodiazepine_sedative_hypnotics": "Taking non-benzodiazepine sedative hypnotics",
            "psychostimulants": "Taking psychostimulants", "maois": "Taking MAOIs", "opioids": "Taking opioids",
            "elevated_bp_decision": "Prescriber's decision on an elevated baseline BP",
        }
        help_texts = {"elevated_bp_decision": "Needed when the baseline is above the protocol's limit: the "
                                              "risk-benefit decision to dose, in your words."}
        field_classes = {f: TriStateField for f in ("benzodiazepines", "non_benzodiazepine_sedative_hypnotics",
                                                    "psychostimulants", "maois", "opioids")}
        widgets = {"elevated_bp_decision": forms.Textarea(attrs={"rows": 2}),
                   **{f: TriStateSelect for f in ("benzodiazepines", "non_benzodiazepine_sedative_hypnotics",
                                                           "psychostimulants", "maois", "opioids")}}

    def __init__(self, *args, protocol: Protocol, can_decide_bp: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(protocol.dose_rule, WeightBasedDoseRule):
            for name in ("actual_weight_kg", "height_cm", "ibw_sex", "weight_basis"):
                self.fields.pop(name)
        if not protocol.requires_pregnancy_check:
            self.fields.pop("pregnancy_check")
        if not can_decide_bp:
            self.fields.pop("elevated_bp_decision")
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "off")


class DoseOrderForm(forms.Form):
    """The prescriber's order; fields depend on the route."""

    dose_mg = forms.TypedChoiceField(label="Dose to give", coerce=Decimal, required=False,
                                     choices=[("28", "28 mg (1 device)"), ("56", "56 mg (2 devices)"),
                                              ("84", "84 mg (3 devices)")])
    mg_per_kg = forms.DecimalField(label="mg/kg", required=False, min_value=Decimal("0.01"),
                                   max_value=Decimal(5), decimal_places=3)
    concentration_mg_per_ml = forms.DecimalField(label="Concentration (mg/mL)", required=False,
                                                 min_value=Decimal("0.01"), max_value=Decimal(100), decimal_places=2)
    infusion_minutes = forms.IntegerField(label="Infusion over (min)", required=False, min_value=1, max_value=600)
    override_reason = forms.CharField(
        label="Override reason (only for a dose outside the protocol)", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, protocol: Protocol, **kwargs):
        super().__init__(*args, **kwargs)
        rule = protocol.dose_rule
        if isinstance(rule, WeightBasedDoseRule):
            self.fields.pop("dose_mg")
            self.fields["mg_per_kg"].initial = rule.mg_per_kg
            self.fields["infusion_minutes"].initial = rule.infusion_minutes
            self.fields["concentration_mg_per_ml"].initial = Decimal(10)
        else:
            for name in ("mg_per_kg", "concentration_mg_per_ml", "infusion_minutes"):
                self.fields.pop(name)


class AdministrationForm(forms.Form):
    lot_number = forms.CharField(label="Lot number", max_length=40,
                                 help_text="Carried forward from the previous device; change it if the lot differs.")
    given_at = forms.DateTimeField(label="Given at", required=False, widget=DATETIME,
                                   help_text="Leave empty for now.")
    early_reason = forms.CharField(label="Give it early: why", max_length=500, required=False,
                                   help_text="Only for a device before it is due (e.g. patient must leave, "
                                             "prescriber agreed).")


class InfusionEndForm(forms.Form):
    ended_at = forms.DateTimeField(label="Infusion ended at", required=False, widget=DATETIME,
                                   help_text="Leave empty for now.")


class VitalsForm(forms.Form):
    systolic_mmhg = _number("Systolic (mmHg)", 50, 300)
    diastolic_mmhg = _number("Diastolic (mmHg)", 20, 200)
    heart_rate_bpm = _number("Heart rate (/min)", 20, 250)
    spo2_pct = _number("SpO2 (%)", 50, 100)
    resp_rate_per_min = _number("Resp. rate (/min)", 0, 80)
    # Levels paraphrased from docs/domain/instruments.md §8 (Chernik 1990, 0-5 version).
    moaas = forms.TypedChoiceField(label="MOAA/S", required=False, coerce=int, empty_value=None, choices=[
        ("", "—"), (5, "5 alert, responds to name"), (4, "4 sluggish response to name"),
        (3, "3 responds only to loud name"), (2, "2 responds only to prodding"),
        (1, "1 responds only to painful squeeze"), (0, "0 no response")])
    cadss_total = _number("CADSS total", 0, 92)
    taken_at = forms.DateTimeField(label="Taken at", required=False, widget=DATETIME,
                                   help_text="Leave empty for now.")

    def values(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in VITALS_FIELDS}


class SideEffectsForm(forms.Form):
    effects = forms.MultipleChoiceField(label="Present now", required=False, choices=c.SideEffect.choices,
                                        widget=forms.CheckboxSelectMultiple)
    other = forms.CharField(label="Other", required=False, max_length=200)


class AdverseEventForm(forms.Form):
    description = forms.CharField(label="What happened", max_length=200)
    severity = forms.ChoiceField(label="Severity", choices=c.AdverseEventSeverity.choices)
    serious = forms.BooleanField(label="Serious adverse event", required=False)
    onset_at = forms.DateTimeField(label="Onset", widget=DATETIME)
    resolved_at = forms.DateTimeField(label="Resolved", required=False, widget=DATETIME)
    action_taken = forms.CharField(label="Action taken", required=False, max_length=1000,
                                   widget=forms.Textarea(attrs={"rows": 2}))


class AdverseEventResolveForm(forms.Form):
    resolved_at = forms.DateTimeField(label="Resolved at", required=False, widget=DATETIME,
                                      help_text="Leave empty for now.")
    action_taken = forms.CharField(label="Action taken", required=False, max_length=1000)


class DischargeForm(forms.Form):
    criteria = forms.MultipleChoiceField(label="Confirmed now", required=False, widget=forms.CheckboxSelectMultiple)
    ready_to_leave_minutes = forms.IntegerField(
        label="Had there been no 2-hour minimum, ready to leave after (min)", required=False, min_value=0,
        max_value=720, help_text="REMS evaluation question, minutes from the start of administration.")

    def __init__(self, *args, protocol: Protocol, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["criteria"]).choices = [
            (k, c.DISCHARGE_CRITERIA_LABELS.get(k, k.replace("_", " "))) for k in protocol.discharge_criteria]
        if not protocol.rems_pmf_required:
            self.fields.pop("ready_to_leave_minutes")


class NoteForm(forms.Form):
    note = forms.CharField(label="Session note", required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 5}))


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class AcknowledgeForm(forms.Form):
    """One alert of the session: the common actions as choices plus free text, stored as one text."""

    alert_id = forms.IntegerField(widget=forms.HiddenInput)
    common = forms.MultipleChoiceField(label="Action taken", required=False, widget=forms.CheckboxSelectMultiple,
                                       choices=[(a, a) for a in COMMON_ACTIONS])
    action = forms.CharField(label="Details or other action", max_length=1000, required=False)

    def clean(self):
        data = super().clean() or {}
        action = compose_action(data.get("common") or [], data.get("action") or "")
        if not action:
            self.add_error("action", "Choose the action taken or describe it (e.g. rechecked in 5 min).")
        elif len(action) > 2000:
            self.add_error("action", "The action taken is at most 2000 characters.")
        else:
            data["action"] = action
        return data


class RescheduleForm(forms.Form):
    session_id = forms.IntegerField(widget=forms.HiddenInput)
    new_on = forms.DateField(label="New date", widget=DATE)
    shift_following = forms.BooleanField(label="Move every later session by the same number of days", required=False)


class CourseEndForm(forms.Form):
    status = forms.ChoiceField(label="End as", choices=[(c.CourseStatus.COMPLETED, "Completed"),
                                                        (c.CourseStatus.STOPPED, "Stopped")])
    reason = forms.CharField(label="Reason", max_length=1000)


class RemsEnrollmentForm(forms.Form):
    enrolled_on = forms.DateField(label="Enrolled on", widget=DATE)
    reference = forms.CharField(label="REMS patient ID (optional)", required=False, max_length=40)


class PmfSubmitForm(forms.Form):
    reference = forms.CharField(label="Confirmation number (optional)", required=False, max_length=60)


class RemsSettingForm(forms.ModelForm):
    reason = forms.CharField(label="Reason for the change", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = RemsSetting
        fields = ["pmf_required", "patient_enrollment_required", "pmf_due_days", "pmf_due_soon_after_days",
                  "setting_type", "pmf_template", "setting_name", "address_1", "address_2", "city", "state",
                  "zip_code", "telephone"]
        labels = {"pmf_required": "Patient Monitoring Form required after every session",
                  "patient_enrollment_required": "Patient REMS enrollment required before the first dose",
                  "pmf_due_days": "Form due within (calendar days)", "pmf_due_soon_after_days": "'Due soon' from day",
                  "setting_type": "Healthcare setting type", "pmf_template": "Form template version",
                  "zip_code": "ZIP", "telephone": "Telephone for the monitoring HCP"}

    def __init__(self, *args, templates: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pmf_template"] = forms.ChoiceField(label="Form template version",
                                                        choices=[(k, k) for k in templates])


class MeasureOffsetForm(forms.Form):
    offset_hours = forms.IntegerField(label="Hours after the dose", min_value=0, max_value=168, required=False)


# ---- Protocol configuration ------------------------------------------------------------------------------------

def _threshold_label(name: str) -> str:
    words = name.replace("_mmhg", " (mmHg)").replace("_bpm", " (/min)").replace("_pct", " (%)").replace(
        "_per_min", " (/min)").replace("spo2", "SpO2").replace("moaas", "MOAA/S").replace("cadss", "CADSS")
    return words.replace("_", " ").capitalize()


class ProtocolForm(forms.Form):
    """The clinic-editable values of one protocol, shown with the shipped default next to each."""

    reason = forms.CharField(label="Reason for the change", max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="e.g. medical director decision, date and reference.")

    def __init__(self, *args, base: Protocol, current: Protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.base = base
        self.specs: list[tuple[str, str, str]] = []  # (form field, JSON path, default shown)
        self._add("observation_minimum_minutes", "observation_minimum_minutes",
                  forms.IntegerField(label="Observation minimum (min from the first dose)", min_value=0,
                                     max_value=720), current.observation_minimum_minutes,
                  base.observation_minimum_minutes)
        self._add("vitals_minutes", "vitals_schedule.minutes",
                  forms.CharField(label="Vital signs at (min after the first dose, comma-separated)",
                                  required=False, max_length=200),
                  ", ".join(map(str, current.vitals_schedule.minutes)),
                  ", ".join(map(str, base.vitals_schedule.minutes)))
        self._add("questionnaires", "questionnaires",
                  forms.CharField(label="Questionnaires (instrument@hours after the dose; 0 = before)",
                                  required=False, max_length=500),
                  ", ".join(f"{q.instrument}@{q.offset_hours}" for q in current.questionnaires),
                  ", ".join(f"{q.instrument}@{q.offset_hours}" for q in base.questionnaires))
        for name in ("requires_escort", "requires_pregnancy_check"):
            self._add(name, name, forms.BooleanField(label=name.replace("_", " ").capitalize(), required=False),
                      getattr(current, name), getattr(base, name))
        rule = base.dose_rule
        if isinstance(rule, WeightBasedDoseRule):
            for f in dataclasses.fields(WeightBasedDoseRule):
                value = getattr(current.dose_rule, f.name)
                field = (forms.DecimalField(max_digits=8, decimal_places=3) if isinstance(value, Decimal)
                         else forms.IntegerField(min_value=1))
                field.label = f.name.replace("_", " ").replace("mg per kg", "mg/kg").capitalize()
                self._add(f"dose_rule__{f.name}", f"dose_rule.{f.name}", field, value, getattr(rule, f.name))
        for f in dataclasses.fields(Thresholds):
            self._add(f"thresholds__{f.name}", f"thresholds.{f.name}",
                      forms.IntegerField(label=_threshold_label(f.name)), getattr(current.thresholds, f.name),
                      getattr(base.thresholds, f.name))
        self.order_fields([spec[0] for spec in self.specs] + ["reason"])

    def _add(self, name, path, field, initial, default):
        field.initial = initial
        shown = ("yes" if default else "no") if isinstance(default, bool) else default
        field.help_text = f"Shipped default: {shown}"
        if path in PROTOCOL_PLACEHOLDERS:
            field.help_text += f" ({NO_PUBLISHED_THRESHOLD}; {PROTOCOL_PLACEHOLDERS[path][1]})"
        self.fields[name] = field
        self.specs.append((name, path, default))

    def overrides(self) -> dict:
        """The submitted values in the JSON shape of `overrides_from_json` (all of them; the service keeps the diff)."""
        data: dict = {}
        for name, path, _ in self.specs:
            value = self.cleaned_data.get(name)
            if name == "vitals_minutes":
                value = self._int_list(name, value)
            elif name == "questionnaires":
                value = self._questionnaires(value)
            elif isinstance(value, Decimal):
                value = str(value)
            if value is None:
                continue
            head, _, tail = path.partition(".")
            if tail:
                data.setdefault(head, {})[tail] = value
            else:
                data[head] = value
        return data

    def _int_list(self, name, text):
        try:
            return [int(part) for part in (text or "").replace(";", ",").split(",") if part.strip()]
        except ValueError:
            self.add_error(name, "Use whole minutes separated by commas, e.g. 15, 40, 60.")
            return None

    def _questionnaires(self, text):
        out = []
        for part in (text or "").split(","):
            if not part.strip():
                continue
            key, _, hours = part.strip().partition("@")
            try:
                out.append({"instrument": key.strip(), "offset_hours": int(hours or 0)})
            except ValueError:
                self.add_error("questionnaires", f"'{part.strip()}': write instrument@hours, e.g. vas-anxiety@2.")
                return None
        return out
