"""The hostile-input corpus (issue 16 point 9): every case is one request that must be refused with a clear 4xx and
store nothing. `corpus.json` beside this file is the list this module generates (`test_corpus.py` checks that it is
current); regenerate it with

    PYTHONPATH=. python -m tests.hostile.corpus --write

A case is {"id", "target", "field", "value"} (the target's valid body with `field` set to `value`; a dotted field
reaches into nested objects and lists) or {"id", "target", "raw": {...}} for a body that is not a mutation of the
valid one (too big, too deep, not JSON). Targets are defined in `test_corpus.py`: API routes and the main forms.
"""

import json
import sys
from pathlib import Path

CORPUS_FILE = Path(__file__).with_name("corpus.json")

def rep(text: str, times: int) -> dict:
    """A long string, kept short in the data file: `expand` turns it into text * times."""
    return {"$repeat": [text, times]}


def expand(value):
    if isinstance(value, dict):
        if set(value) == {"$repeat"}:
            text, times = value["$repeat"]
            return text * times
        return {key: expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


# Characters the text rule refuses anywhere (core/text.py): name -> character.
REFUSED_CHARACTERS = {
    "nul": "\x00", "soh": "\x01", "escape": "\x1b", "del": "\x7f", "c1-nel": "\x85",
    "rlo": "\u202e", "lro": "\u202d", "rli": "\u2067", "zwsp": "\u200b", "zwj": "\u200d", "bom": "\ufeff",
    "soft-hyphen": "\u00ad", "line-separator": "\u2028", "paragraph-separator": "\u2029", "private-use": "\ue000",
    "lone-surrogate": "\ud800",
}
XSS = {"script": "<script>alert(1)</script>", "img-onerror": "<img src=x onerror=alert(1)>",
       "svg-onload": "<svg onload=alert(1)>"}
SQL = {"or-true": "' OR '1'='1' --", "drop": "x'); DROP TABLE patients_patient; --", "union": "1 UNION SELECT 1",
       "comment": "1; --"}
NOT_NUMBERS = {"true": True, "false": False, "string": "seventy", "object": {"value": 70}, "list": [70],
               "xss": XSS["script"], "sql": SQL["or-true"], "float-text": "7e1x", "huge-digits": rep("9", 5000),
               "nan-text": "NaN"}
BAD_MOMENTS = {"year-one": "0001-01-01T00:00:00Z", "year-one-naive": "0001-01-01T00:00:00",
               "1850": "1850-06-01T12:00:00Z", "1899": "1899-12-31T23:59:59Z",
               "before-birth": "1950-01-01T12:00:00Z", "tomorrow": "2026-03-03T14:00:00Z",
               "year-9999": "9999-12-31T23:59:59Z", "not-a-time": "yesterday", "feb-30": "2026-02-30T10:00:00Z",
               "sql": SQL["or-true"], "number": 1234567890}
BAD_DATES = {"year-one": "0001-01-01", "1850": "1850-06-01", "1899": "1899-12-31", "year-9999": "9999-12-31",
             "feb-30": "2026-02-30", "not-a-date": "soon", "xss": XSS["script"], "number": 20260302}


def _text_cases(target: str, fields: list[str], *, markup_refused: bool) -> list[dict]:
    cases = []
    for field in fields:
        for name, ch in REFUSED_CHARACTERS.items():
            if target.startswith("form.") and name == "lone-surrogate":
                continue  # a browser cannot send one: form bodies are UTF-8
            cases.append({"id": f"{target}.{field}.{name}", "target": target, "field": field,
                          "value": f"Main{ch}Street"})
        if markup_refused:
            for name, value in XSS.items():
                cases.append({"id": f"{target}.{field}.xss-{name}", "target": target, "field": field, "value": value})
        cases.append({"id": f"{target}.{field}.too-long", "target": target, "field": field, "value": rep("a", 10_001)})
    return cases


def _number_cases(target: str, fields: dict[str, list[object]]) -> list[dict]:
    """`fields`: field -> impossible values of the right type (out of range, wrong unit)."""
    cases = []
    for field, impossible in fields.items():
        for name, value in NOT_NUMBERS.items():
            cases.append({"id": f"{target}.{field}.{name}", "target": target, "field": field, "value": value})
        for value in impossible:
            cases.append({"id": f"{target}.{field}.impossible-{value}", "target": target, "field": field,
                          "value": value})
    return cases


def _when_cases(target: str, field: str, values: dict[str, object]) -> list[dict]:
    return [{"id": f"{target}.{field}.{name}", "target": target, "field": field, "value": value}
            for name, value in values.items()]


def _body_cases(target: str) -> list[dict]:
    raws = {"too-big": {"kind": "big", "bytes": 3_000_000}, "nested-100": {"kind": "nested", "depth": 100},
            "nested-100000": {"kind": "nested", "depth": 100_000}, "not-json": {"kind": "text", "text": "{'a': 1"},
            "nan": {"kind": "text", "text": '{"x": NaN}'}, "infinity": {"kind": "text", "text": '{"x": Infinity}'},
            "huge-int": {"kind": "text", "text": '{"x": ' + "9" * 5000 + "}"},
            "huge-float": {"kind": "text", "text": '{"x": 1e999}'},
            "utf16": {"kind": "utf16", "text": '{"x": 1}'}, "array": {"kind": "text", "text": "[1, 2, 3]"},
            "string": {"kind": "text", "text": '"hello"'},
            "nul-key": {"kind": "text", "text": '{"a\\u0000b": 1}'}}
    return [{"id": f"{target}.body.{name}", "target": target, "raw": raw} for name, raw in raws.items()]


def generate() -> list[dict]:
    cases: list[dict] = []
    # Patients: register and change (names, address, contacts).
    patient_text = ["given_name", "family_name", "address_line", "city", "emergency_contact_name"]
    cases += _text_cases("api.patient_create", patient_text, markup_refused=True)
    cases += _text_cases("api.patient_update", ["address_line", "emergency_contact_name"], markup_refused=True)
    cases += [{"id": f"api.patient_create.mrn.sql-{n}", "target": "api.patient_create", "field": "mrn", "value": v}
              for n, v in SQL.items()]
    cases += _when_cases("api.patient_create", "date_of_birth", {k: v for k, v in BAD_DATES.items()} |
                         {"future": "2030-01-01"})
    cases += [{"id": "api.patient_create.sex.sql", "target": "api.patient_create", "field": "sex",
               "value": SQL["or-true"]},
              {"id": "api.patient_create.sex.maybe", "target": "api.patient_create", "field": "sex", "value": "maybe"}]
    cases += _body_cases("api.patient_create")
    # Search: a body with refused characters is refused, not searched (and not audited as a search).
    cases += [{"id": f"api.patient_search.q.{n}", "target": "api.patient_search", "field": "q", "value": f"a{ch}b"}
              for n, ch in REFUSED_CHARACTERS.items()]
    cases += [{"id": "api.patient_search.q.too-long", "target": "api.patient_search", "field": "q",
               "value": rep("a", 101)}]
    # Vital signs in a session.
    cases += _number_cases("api.vitals", {"heart_rate_bpm": [0, 19, 251, -70, 100_000], "spo2_pct": [101, 150, -1],
                                          "systolic_mmhg": [0, 400], "moaas": [9, -1], "cadss_total": [93, 999],
                                          "resp_rate_per_min": [81]})
    cases += [{"id": "api.vitals.bp.zero-over-zero", "target": "api.vitals", "field": "*",
               "value": {"systolic_mmhg": 0, "diastolic_mmhg": 0}},
              {"id": "api.vitals.bp.diastolic-above", "target": "api.vitals", "field": "*",
               "value": {"systolic_mmhg": 90, "diastolic_mmhg": 120}},
              {"id": "api.vitals.bp.kpa-units", "target": "api.vitals", "field": "*",
               "value": {"systolic_mmhg": 16, "diastolic_mmhg": 10}}]
    cases += _when_cases("api.vitals", "taken_at", BAD_MOMENTS)
    cases += _body_cases("api.vitals")
    # Questionnaire responses.
    cases += _when_cases("api.response", "answered_at", BAD_MOMENTS)
    cases += [{"id": f"api.response.answer.{n}", "target": "api.response", "field": "answers./44250-9",
               "value": f"LA6568-5{ch}"} for n, ch in REFUSED_CHARACTERS.items()]
    cases += [{"id": f"api.response.instrument.{n}", "target": "api.response", "field": "instrument", "value": v}
              for n, v in (SQL | XSS).items()]
    cases += [{"id": "api.response.context.nul", "target": "api.response", "field": "context", "value": "a\x00"},
              {"id": "api.response.answers.nested", "target": "api.response", "field": "answers",
               "value": [[[[[[[[[[]]]]]]]]]]}]
    cases += _body_cases("api.response")
    # Intake.
    cases += _text_cases("api.intake", ["psychiatric_notes", "allergies", "referring_clinician"], markup_refused=False)
    cases += [{"id": f"api.intake.psychosis_history.{v}", "target": "api.intake", "field": "psychosis_history",
               "value": v} for v in ("maybe", "unknown", "2", 3, "yes please")]
    cases += [{"id": f"api.intake.trial_weeks.{v}", "target": "api.intake", "field": "trials.0.duration_weeks",
               "value": v} for v in (1_000_000, 521, -1, True)]
    cases += [{"id": "api.intake.trial_dose.huge", "target": "api.intake", "field": "trials.0.dose_mg_per_day",
               "value": 10_000_000}]
    cases += [{"id": f"api.intake.weight.{n}", "target": "api.intake", "field": "weight", "value": v}
              for n, v in {"stone": {"value": 12, "unit": "st"}, "grams": {"value": 80000, "unit": "g"},
                           "800kg": {"value": 800, "unit": "kg"}, "negative": {"value": -80, "unit": "kg"},
                           "lb-as-kg": {"value": 1760, "unit": "lb"}}.items()]
    cases += [{"id": f"api.intake.height.{n}", "target": "api.intake", "field": "height", "value": v}
              for n, v in {"metres": {"value": 1.8, "unit": "m"}, "feet": {"value": 6, "unit": "ft"},
                           "mm-as-cm": {"value": 1800, "unit": "cm"}}.items()]
    cases += _when_cases("api.intake", "vitals_taken_at", BAD_MOMENTS)
    cases += _when_cases("api.intake", "measured_on", BAD_DATES | {"tomorrow": "2026-03-03",
                                                                    "before-birth": "1950-01-01"})
    cases += [{"id": f"api.intake.notes.{n}", "target": "api.intake", "field": "psychiatric_notes", "value": v}
              for n, v in {"one-mb": rep("x", 1_000_000)}.items()]
    cases += _body_cases("api.intake")
    # Stateless eligibility.
    cases += _number_cases("api.evaluate", {"facts.systolic_mmhg": [0, 1000], "facts.heart_rate_bpm": [0, 999]})
    cases += _when_cases("api.evaluate", "facts.date_of_birth", BAD_DATES | {"future": "2030-01-01"})
    # Forms (the pages): register a patient, record vitals, add a member of staff.
    cases += _text_cases("form.patient_create", ["given_name", "address_line", "city"], markup_refused=True)
    cases += _when_cases("form.patient_create", "date_of_birth", {k: v for k, v in BAD_DATES.items()
                                                                  if isinstance(v, str)})
    cases += _text_cases("form.staff_create", ["first_name", "last_name"], markup_refused=False)
    form_numbers = {k: v for k, v in NOT_NUMBERS.items() if isinstance(v, str)}
    for field, impossible in {"heart_rate_bpm": [0, 251], "spo2_pct": [101]}.items():
        cases += [{"id": f"form.vitals.{field}.{n}", "target": "form.vitals", "field": field, "value": v}
                  for n, v in form_numbers.items()]
        cases += [{"id": f"form.vitals.{field}.impossible-{v}", "target": "form.vitals", "field": field,
                   "value": str(v)} for v in impossible]
    cases += _when_cases("form.vitals", "taken_at", {k: v.replace("Z", "").replace("T", " ")
                                                     for k, v in BAD_MOMENTS.items() if isinstance(v, str)})
    return cases


def main(argv: list[str]) -> int:
    cases = generate()
    text = json.dumps(cases, indent=0, ensure_ascii=True) + "\n"
    if "--write" in argv:
        CORPUS_FILE.write_text(text)
    print(f"{len(cases)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
