"""Entry forms generated from an instrument definition: one field per item (radio group for options, a number
with a slider for VAS/NRS), the time the answers refer to, and who answered."""

import datetime as dt
import json
from typing import cast

from django import forms
from django.utils import timezone

from ketacare.instruments.choices import ResponseMode
from ketacare.instruments.domain.catalog import short_name
from ketacare.instruments.domain.model import Instrument, Item, RuleKind, SafetyRule
from ketacare.instruments.domain.safety import threshold_bounds

STAFF_MODES = [(ResponseMode.SELF_REPORT.value, "Patient answered (self-report)"),
               (ResponseMode.CLINICIAN.value, "Clinician rating")]


def item_field_name(index: int) -> str:
    """Form field of the n-th item: linkIds contain '/' and '.', so fields are named by position."""
    return f"item_{index}"


class ResponseForm(forms.Form):
    """Answers to one instrument. Items are optional one by one (a missing item makes the score incomplete, never
    zero), but saving an incomplete questionnaire must be confirmed."""

    answered_at = forms.DateTimeField(
        label="Answers refer to", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When the patient answered (or was rated); now by default.")
    mode = forms.ChoiceField(label="Who answered", choices=STAFF_MODES, widget=forms.RadioSelect)
    allow_incomplete = forms.BooleanField(
        label="Save with unanswered items (the total stays incomplete)", required=False)

    def __init__(self, *args, instrument: Instrument, initial_answers: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        initial_answers = initial_answers or {}
        for index, item in enumerate(instrument.items):
            field = _item_field(item)
            value = initial_answers.get(item.link_id)
            if value is not None:
                field.initial = _initial(item, value)
            self.fields[item_field_name(index)] = field
        self.order_fields([item_field_name(n) for n in range(len(instrument.items))]
                          + ["answered_at", "mode", "allow_incomplete"])

    def item_fields(self) -> list[dict]:
        """Each item with its bound field, in order, and the field that gates it (skip logic), for the template."""
        rows = []
        for n, item in enumerate(self.instrument.items):
            gate = self.field_for(item.enable_when.question) if item.enable_when else None
            gate_label = None
            if item.enable_when:
                gate_item = self.instrument.item(item.enable_when.question)
                option = next((o for o in gate_item.options if o.code == item.enable_when.answer_code), None)
                gate_label = (gate_item.label, option.display if option else item.enable_when.answer_code)
            rows.append({"item": item, "field": self[item_field_name(n)], "number": n + 1, "gate": gate,
                         "gate_answer": item.enable_when.answer_code if item.enable_when else None,
                         "gate_label": gate_label})
        return rows

    def answers(self) -> dict[str, object]:
        """{linkId: option code or whole number} of the answered items."""
        answers = {}
        for index, item in enumerate(self.instrument.items):
            value = self.cleaned_data.get(item_field_name(index))
            if value not in (None, ""):
                answers[item.link_id] = value
        return answers

    def clean_answered_at(self):
        value = self.cleaned_data["answered_at"]
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value

    def field_for(self, link_id: str) -> str | None:
        for index, item in enumerate(self.instrument.items):
            if item.link_id == link_id:
                return item_field_name(index)
        return None


class AmendForm(ResponseForm):
    reason = forms.CharField(label="Reason for the amendment", max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="e.g. answer entered on the wrong line; the original stays on record.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("mode")  # an amendment keeps the original's mode


def _item_field(item: Item) -> forms.Field:
    label = item.text or item.label
    if item.options:
        return forms.ChoiceField(label=label, required=False, widget=forms.RadioSelect,
                                 choices=[(o.code, o.display) for o in item.options])
    if item.range is not None:
        return forms.IntegerField(
            label=label, required=False, min_value=item.range.low, max_value=item.range.high,
            widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "min": item.range.low,
                                            "max": item.range.high, "class": "scale-number"}))
    return forms.CharField(label=label, required=False, max_length=500)


def _initial(item: Item, value: object) -> object:
    if item.options and not isinstance(value, str):
        for option in item.options:  # stored as a weight (e.g. API list input): show the option
            if option.weight is not None and option.weight == value:
                return option.code
    return value


def default_answered_at() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class LicensedTextForm(forms.Form):
    """A clinic's licensed wording for one instrument: pasted JSON or an uploaded .json file."""

    instrument = forms.ChoiceField(label="Instrument")
    content = forms.CharField(
        label="Item text (JSON)", required=False, widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text='{"<linkId>": "item wording"} or {"<linkId>": {"text": "...", "options": {"<code>": "..."}}}. '
                  "Download the template to start from the item list.")
    file = forms.FileField(label="…or upload a .json file", required=False)

    MAX_BYTES = 512 * 1024

    def __init__(self, *args, instruments: list[Instrument], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["instrument"]).choices = [(i.key, i.title) for i in instruments]

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        raw = data.get("content") or ""
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                self.add_error("file", "The file is larger than 512 KB.")
                return data
            try:
                raw = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
                return data
        if not raw.strip():
            self.add_error("content", "Paste the JSON or upload a file.")
            return data
        try:
            data["parsed"] = json.loads(raw)
        except json.JSONDecodeError as exc:
            field = "file" if upload is not None else "content"
            self.add_error(field, f"Not valid JSON: {exc.msg} (line {exc.lineno}).")
        return data


class SafetyThresholdsForm(forms.Form):
    """The clinic's threshold for every safety rule that has one, each with its cited default and the range in
    which the rule can still fire."""

    reason = forms.CharField(label="Reason for the change", max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="e.g. medical director decision, date and reference.")

    def __init__(self, *args, rules: list[tuple[Instrument, SafetyRule]], current: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.codes = []
        for instrument, rule in rules:
            low, high = threshold_bounds(instrument, rule)
            default = rule.threshold if rule.threshold is not None else low
            self.fields[rule.code] = forms.IntegerField(
                label=_rule_label(instrument, rule),
                min_value=int(low), max_value=int(high), initial=current.get(rule.code, int(default)),
                help_text=f"Default {rule.threshold} ({rule.source}); allowed {low}-{high}.")
            self.codes.append(rule.code)
        self.order_fields([*self.codes, "reason"])

    def thresholds(self) -> dict[str, int]:
        return {code: self.cleaned_data[code] for code in self.codes}


def _rule_label(instrument: Instrument, rule: SafetyRule) -> str:
    """e.g. "MOAA/S: high alert when MOAA/S level is at most"."""
    subject = {RuleKind.ITEM_AT_LEAST: "{item} is at least", RuleKind.ITEM_AT_MOST: "{item} is at most",
               RuleKind.ANY_ITEM_AT_LEAST: "any item is at least", RuleKind.TOTAL_ABOVE: "the total is above",
               RuleKind.TOTAL_RISE_AT_LEAST: "the total rose from the pre-dose rating by at least"}[rule.kind]
    item = instrument.item(rule.target).label if rule.target else ""
    return (f"{short_name(instrument.key, instrument.title)}: {rule.severity.value} alert when "
            f"{subject.format(item=item)}")
