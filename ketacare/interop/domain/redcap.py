"""A REDCap project from KetaCare's questionnaires: the 18-column data dictionary and the records CSV of a
longitudinal project with repeating instruments, de-identified (privacy.md §2).

- One REDCap form per instrument; one radio field per scored or coded item (choices `code, label | ...` with the
  item's weights as codes), the total as an integer text field, the answer time as a datetime field.
- Events: `baseline_arm_1` (answers before the first dose) and `treatment_arm_1` (from the first dose on); every form
  repeats within its event, so `redcap_event_name`, `redcap_repeat_instrument` and `redcap_repeat_instance` are on
  every row (REDCap's import layout for repeating instruments).
- De-identification: `record_id` is a keyed hash of the patient (a salt drawn per export, never stored), every date
  of a patient is moved by the same number of days (drawn per patient from the salt: intervals are kept, calendar
  dates are not), no name, MRN, contact, address or free text is exported. Shifted dates are not Safe Harbor's "year
  only" (privacy.md §2 says longitudinal timing needs an Expert Determination or a Limited Data Set): the manifest
  says so.

Licensed instruments (LSAS, SPIN, C-SSRS ...) get their neutral item labels, never licensed wording.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

RULES_VERSION = "redcap-deid-1"
COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name", "Matrix Ranking?",
    "Field Annotation",
)
EVENTS = ("baseline_arm_1", "treatment_arm_1")
REPEAT_COLUMNS = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
MAX_SHIFT_DAYS = 364
_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ItemSpec:
    link_id: str
    label: str
    choices: tuple[tuple[str, str, int], ...]  # (answer code, display, weight) — weights become REDCap codes


@dataclass(frozen=True)
class FormSpec:
    key: str  # instrument key, e.g. phq-9
    title: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class Answer:
    patient_id: int
    instrument_key: str
    answered_at: dt.datetime
    answers: dict[str, Any]
    total: Decimal | None


def form_name(key: str) -> str:
    """REDCap form names: lowercase letters, digits and underscores, starting with a letter."""
    name = _NAME.sub("_", key.lower()).strip("_")
    return name if name[:1].isalpha() else f"f_{name}"


def field_name(form: str, suffix: str) -> str:
    return f"{form}_{_NAME.sub('_', suffix.lower()).strip('_')}"[:100]


def _row(**values: str) -> dict[str, str]:
    keys = dict(zip(("field", "form", "section", "type", "label", "choices", "note", "validation", "min", "max",
                     "identifier", "branching", "required", "alignment", "number", "matrix", "ranking",
                     "annotation"), COLUMNS, strict=True))
    row = dict.fromkeys(COLUMNS, "")
    for key, value in values.items():
        row[keys[key]] = value
    return row


def item_fields(form: FormSpec) -> list[tuple[str, ItemSpec]]:
    name = form_name(form.key)
    return [(field_name(name, f"q{n}"), item) for n, item in enumerate(form.items, start=1)]


def data_dictionary(forms: Sequence[FormSpec]) -> list[dict[str, str]]:
    rows = [_row(field="record_id", form="participant", type="text", label="Record ID (keyed hash, per export)")]
    rows.append(_row(field="participant_export", form="participant", type="text",
                     label="De-identification rules version"))
    for form in forms:
        name = form_name(form.key)
        rows.append(_row(field=field_name(name, "answered_at"), form=name, section=form.title, type="text",
                         label="Answered (date shifted per patient)", validation="datetime_seconds_ymd"))
        for field, item in item_fields(form):
            choices = " | ".join(f"{weight}, {display}" for _, display, weight in item.choices)
            rows.append(_row(field=field, form=name, type="radio" if item.choices else "text", label=item.label,
                             choices=choices, validation="" if item.choices else "number"))
        rows.append(_row(field=field_name(name, "total"), form=name, type="text", label=f"{form.title} total",
                         validation="number"))
    return rows


def patient_key(salt: bytes, patient_id: int) -> str:
    return hmac.new(salt, f"patient:{patient_id}".encode(), hashlib.sha256).hexdigest()[:16]


def shift_days(salt: bytes, patient_id: int) -> int:
    """The same shift for all of one patient's dates, different between patients and between exports."""
    digest = hmac.new(salt, f"shift:{patient_id}".encode(), hashlib.sha256).digest()
    return -(1 + int.from_bytes(digest[:4], "big") % MAX_SHIFT_DAYS)


def records(forms: Sequence[FormSpec], answers: Iterable[Answer], first_dose: dict[int, dt.datetime],
            salt: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """The records CSV (header, rows): one row per patient for the participant form, then one row per answer."""
    by_key = {form.key: form for form in forms}
    header = list(REPEAT_COLUMNS) + ["participant_export"]
    for form in forms:
        name = form_name(form.key)
        header += [field_name(name, "answered_at"), *(f for f, _ in item_fields(form)), field_name(name, "total")]
    rows: list[dict[str, str]] = []
    instances: dict[tuple[int, str, str], int] = {}
    seen: set[int] = set()
    for answer in sorted(answers, key=lambda a: (a.patient_id, a.answered_at)):
        found = by_key.get(answer.instrument_key)
        if found is None:
            continue
        form = found
        record = patient_key(salt, answer.patient_id)
        if answer.patient_id not in seen:
            seen.add(answer.patient_id)
            rows.append({**dict.fromkeys(header, ""), "record_id": record, "redcap_event_name": EVENTS[0],
                         "participant_export": RULES_VERSION})
        dosed = first_dose.get(answer.patient_id)
        event = EVENTS[1] if dosed is not None and answer.answered_at >= dosed else EVENTS[0]
        name = form_name(form.key)
        counter = (answer.patient_id, event, name)
        instances[counter] = instances.get(counter, 0) + 1
        shifted = answer.answered_at + dt.timedelta(days=shift_days(salt, answer.patient_id))
        row = {**dict.fromkeys(header, ""), "record_id": record, "redcap_event_name": event,
               "redcap_repeat_instrument": name, "redcap_repeat_instance": str(instances[counter]),
               field_name(name, "answered_at"): shifted.strftime("%Y-%m-%d %H:%M:%S")}
        for field, item in item_fields(form):
            value = answer.answers.get(item.link_id)
            weights = {code: weight for code, _, weight in item.choices}
            row[field] = "" if value is None else str(weights.get(str(value), value) if item.choices else value)
        if answer.total is not None:
            total = Decimal(answer.total)
            row[field_name(name, "total")] = str(int(total) if total == total.to_integral_value() else total)
        rows.append(row)
    return header, rows
