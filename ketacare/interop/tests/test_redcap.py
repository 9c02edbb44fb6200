"""The de-identified REDCap export of the demo clinic: the 18-column dictionary of REDCap's own files, field and
form names REDCap accepts, records whose every column and value the dictionary declares, repeating instruments
with their event and instance on every row, no identifier of any patient (privacy.md §2) and every interval kept."""

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from ketacare.accounts.models import User
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.interop.domain import redcap
from ketacare.interop.exports import redcap_export
from ketacare.patients.models import Patient
from ketacare.seed.demo import seed_demo

pytestmark = pytest.mark.django_db
REDCAP_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "external" / "redcap"
FIXTURE = REDCAP_DIR / "radar_RADARaRMTEnglish_DataDictionary.csv"
FIELD_TYPES = {"text", "notes", "radio", "dropdown", "checkbox", "yesno", "truefalse", "calc", "slider",
               "descriptive", "file", "sql"}
VALIDATIONS = {"", "number", "integer", "datetime_seconds_ymd", "date_ymd"}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo clinic, seeded once for the module inside a transaction rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        clinic, users = seed_demo(password="x")
        yield clinic, {u.username: u for u in users}
        transaction.set_rollback(True)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_dictionary_has_redcaps_columns_and_names(demo):
    export = redcap_export(actor=demo[1]["researcher"])
    header = next(csv.reader(io.StringIO(export.dictionary_csv)))
    assert header == next(csv.reader(FIXTURE.open(encoding="utf-8-sig"))), "the 18 columns, in REDCap's order"
    rows = _rows(export.dictionary_csv)
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and len(names) == len(set(names))
    for row in rows:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,99}", row["Variable / Field Name"]), row
        assert re.fullmatch(r"[a-z][a-z0-9_]*", row["Form Name"]), row
        assert row["Field Type"] in FIELD_TYPES and row["Text Validation Type OR Show Slider Number"] in VALIDATIONS
        if row["Field Type"] == "radio":
            codes = [c.split(",", 1)[0].strip() for c in row["Choices, Calculations, OR Slider Labels"].split("|")]
            assert codes and all(code.lstrip("-").isdigit() for code in codes) and len(codes) == len(set(codes))
    forms = {r["Form Name"] for r in rows}
    assert {"phq_9", "gad_7"} <= forms
    phq = [r for r in rows if r["Form Name"] == "phq_9" and r["Field Type"] == "radio"]
    assert len(phq) == 9 and phq[0]["Choices, Calculations, OR Slider Labels"].startswith("0, Not at all")


def test_every_record_column_and_value_is_declared_and_repeats_are_numbered(demo):
    export = redcap_export(actor=demo[1]["researcher"])
    dictionary = {r["Variable / Field Name"]: r for r in _rows(export.dictionary_csv)}
    rows = _rows(export.records_csv)
    assert rows, "the demo clinic has answers to export"
    header = next(csv.reader(io.StringIO(export.records_csv)))
    assert header[:4] == list(redcap.REPEAT_COLUMNS)
    assert set(header) - set(redcap.REPEAT_COLUMNS) <= set(dictionary)
    instances = defaultdict(list)
    for row in rows:
        assert row["redcap_event_name"] in redcap.EVENTS
        for name, value in row.items():
            spec = dictionary.get(name)
            if spec and value and spec["Field Type"] == "radio":
                choices = spec["Choices, Calculations, OR Slider Labels"].split("|")
                allowed = {c.split(",", 1)[0].strip() for c in choices}
                assert value in allowed, (name, value)
        if row["redcap_repeat_instrument"]:
            instances[(row["record_id"], row["redcap_event_name"], row["redcap_repeat_instrument"])].append(
                int(row["redcap_repeat_instance"]))
    assert instances and all(v == list(range(1, len(v) + 1)) for v in instances.values())
    assert {e for (_, e, _) in instances} == set(redcap.EVENTS), "answers before and after the first dose"
    clinic = demo[0]
    patients_answering = QuestionnaireResponse.objects.filter(clinic=clinic).values("patient_id").distinct().count()
    assert export.manifest["records"] == patients_answering


def test_no_identifier_leaves_and_intervals_are_kept(demo):
    clinic, users = demo
    first, second = redcap_export(actor=users["researcher"]), redcap_export(actor=users["researcher"])
    text = first.dictionary_csv + first.records_csv
    for p in Patient.objects.filter(clinic=clinic):
        for value in (p.mrn, p.given_name + " " + p.family_name, p.email, p.phone, p.address_line,
                      p.date_of_birth.isoformat(), p.postal_code):
            if value:
                assert value not in text, value
    for staff in User.objects.filter(clinic=clinic):
        assert staff.username not in first.records_csv.split("\n", 1)[1]
    assert {r["record_id"] for r in _rows(first.records_csv)}.isdisjoint(r["record_id"] for r in _rows(
        second.records_csv)), "a salt per export: record ids cannot be linked across exports"
    # Intervals: each patient's answer times all move by the same number of days, which is never zero.
    salt = b"a test's own salt"
    rows = _rows(redcap_export(actor=users["researcher"], salt=salt).records_csv)
    checked = 0
    for p in Patient.objects.filter(clinic=clinic):
        real = sorted(QuestionnaireResponse.objects.filter(patient=p, instrument_key="phq-9", status="complete")
                      .current().values_list("answered_at", flat=True))
        shifted = [dt.datetime.fromisoformat(r["phq_9_answered_at"]) for r in rows
                   if r["record_id"] == redcap.patient_key(salt, p.pk) and r["phq_9_answered_at"]]
        assert len(shifted) == len(real)
        if len(real) >= 2:
            checked += 1
            moves = {s_at - r_at.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
                     for s_at, r_at in zip(shifted, real, strict=True)}
            assert len(moves) == 1 and next(iter(moves)) == dt.timedelta(days=redcap.shift_days(salt, p.pk)) < (
                dt.timedelta(0))
    assert checked >= 3


def test_only_research_roles_export_and_each_export_is_audited(demo, tmp_path):
    _, users = demo
    with pytest.raises(PermissionDenied):
        redcap_export(actor=users["nurse"])
    before = AuditEvent.objects.filter(action=AuditAction.RESEARCH_EXPORTED).count()
    call_command("redcap_export", user="researcher", out=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data_dictionary.csv", "manifest.json", "records.csv"]
    event = AuditEvent.objects.filter(action=AuditAction.RESEARCH_EXPORTED).latest("id")
    assert AuditEvent.objects.filter(action=AuditAction.RESEARCH_EXPORTED).count() == before + 1
    assert event.data["rules"] == redcap.RULES_VERSION and "salt" not in str(event.data)
