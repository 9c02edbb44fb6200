"""The two reads behind a patient's outcomes page, in plain SQL.

Why not the ORM here: this page is read at every visit and must stay within 2x of a trivial page
(benchmarks/README.md). Measured on the 100,000-patient benchmark database, the ORM spent 1.1 ms compiling the
grouped sessions query and 0.7 ms converting the ~360 response rows, for two statements the database answers in
under 0.5 ms each. The SQL below is the same query the ORM built (outcomes/tests/test_patient_page_reads.py checks
the rows against the ORM on every database we run on); it is portable between PostgreSQL and SQLite except for the JSON
item lookup.
"""

import datetime as dt

from django.db import connection

from ketacare.instruments.choices import ResponseMode, ResponseStatus
from ketacare.instruments.models import QuestionnaireResponse
from ketacare.outcomes.models import OutcomeSetting
from ketacare.treatment.choices import Route
from ketacare.treatment.models import Course, DosingSession, VitalsReading

SessionTuple = tuple[int, int, str, dt.datetime, int | None, int | None]
ResponseTuple = tuple[str, dt.datetime, object, str, object]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _aware(value) -> dt.datetime:
    """An aware datetime from what the database hands back: aware already (PostgreSQL), naive UTC or text
    (SQLite, converted as Django's backend does)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    return connection.ops.convert_datetimefield_value(value, None, connection)  # type: ignore[attr-defined]  # SQLite's


def dosed_sessions(patient_id: int) -> list[SessionTuple]:
    """(id, number, phase, first dose at, peak CADSS, lowest MOAA/S) of every dosed session of a drug course,
    oldest first."""
    sql = (f"SELECT s.id, s.number, s.phase, s.first_dose_at, MAX(v.cadss_total), MIN(v.moaas) "
           f"FROM {_table(DosingSession)} s JOIN {_table(Course)} c ON c.id = s.course_id "
           f"LEFT JOIN {_table(VitalsReading)} v ON v.session_id = s.id "
           f"WHERE s.patient_id = %s AND s.first_dose_at IS NOT NULL AND c.route <> %s "
           f"GROUP BY s.id, s.number, s.phase, s.first_dose_at ORDER BY s.first_dose_at, s.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [patient_id, Route.NONE.value])
        rows = cursor.fetchall()
    return [(sid, number, phase, _aware(at), peak, low) for sid, number, phase, at, peak, low in rows]


def current_responses(patient_id: int, item_link_id: str) -> list[ResponseTuple]:
    """(instrument key, answered at, total, band, score of item `item_link_id`) of every complete response no
    amendment has superseded, oldest first. The item score is text on PostgreSQL and a number on SQLite."""
    if connection.vendor == "postgresql":
        item, item_param = "r.item_scores ->> %s", item_link_id
    else:
        item, item_param = "json_extract(r.item_scores, %s)", f'$."{item_link_id}"'
    table = _table(QuestionnaireResponse)
    sql = (f"SELECT r.instrument_key, r.answered_at, r.total, r.band, {item} FROM {table} r "
           f"WHERE r.patient_id = %s AND r.status = %s "
           f"AND NOT EXISTS (SELECT 1 FROM {table} n WHERE n.supersedes_id = r.id) "
           f"ORDER BY r.answered_at, r.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [item_param, patient_id, ResponseStatus.COMPLETE.value])
        rows = cursor.fetchall()
    return [(key, _aware(at), total, band or "", score) for key, at, total, band, score in rows]


def home_response_times(patient_id: int) -> set[tuple[str, dt.datetime]]:
    """(instrument key, answered at) of the patient's responses answered at home (the portal), for the charts'
    marks. One query."""
    rows = QuestionnaireResponse.objects.filter(patient_id=patient_id, mode=ResponseMode.PATIENT_PORTAL)
    return {(key, at) for key, at in rows.values_list("instrument_key", "answered_at")}


def outcome_inputs_stamp(patient_id: int, clinic_id: int) -> tuple:
    """What, besides the dosed sessions, can change the patient's outcomes page: the patient's questionnaire
    responses and the clinic's outcome-setting revisions. Both tables only ever gain rows (a correction is a new,
    superseding row: instruments.models, outcomes.models), so every write changes the count; the highest id is
    there too because two writes can commit out of id order. One round trip; the page caches its rendered body
    under this stamp (outcomes.views)."""
    responses, settings = _table(QuestionnaireResponse), _table(OutcomeSetting)
    sql = (f"SELECT (SELECT COUNT(*) FROM {responses} WHERE patient_id = %s), "
           f"(SELECT MAX(id) FROM {responses} WHERE patient_id = %s), "
           f"(SELECT COUNT(*) FROM {settings} WHERE clinic_id = %s), "
           f"(SELECT MAX(id) FROM {settings} WHERE clinic_id = %s)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [patient_id, patient_id, clinic_id, clinic_id])
        return tuple(cursor.fetchone())
