import datetime as dt
from typing import Any

from ketacare.core.schemas import Schema


class OptionOut(Schema):
    code: str
    display: str
    value: int | float | None  # the option's weight (FHIR ordinalValue); null = recorded, not scored


class ItemOut(Schema):
    linkId: str  # noqa: N815 - FHIR's name, as used in answers {"<linkId>": value}
    label: str
    text: str | None
    type: str  # "choice" | "integer" | "string"
    scored: bool
    options: list[OptionOut]
    min: int | None
    max: int | None


class InstrumentOut(Schema):
    key: str
    version: str
    title: str
    items: list[ItemOut]


class ScoreIn(Schema):
    answers: list[Any] | dict[str, Any] | None = None


class AlertRef(Schema):
    code: str
    severity: str


class ScoreOut(Schema):
    instrument: str
    version: str
    status: str
    total: int | float | None
    subscales: dict[str, int | float | None]
    band: str | None
    missing: list[str]
    alerts: list[AlertRef]


class ResponseIn(Schema):
    instrument: str | None = None
    answers: list[Any] | dict[str, Any] | None = None
    answered_at: dt.datetime | None = None
    mode: str = "self_report"
    context: str = ""


class ResponseAlertOut(Schema):
    id: int
    code: str
    severity: str
    status: str
    message: str


class ResponseOut(Schema):
    id: int
    patient_id: int
    instrument: str
    version: str
    status: str
    total: int | float | None
    subscales: dict[str, int | float | None]
    band: str | None
    missing: list[str]
    item_scores: dict[str, int | float]
    answers: dict[str, Any]
    answered_at: dt.datetime
    mode: str
    context: str
    entered_by: str | None
    entered_at: dt.datetime
    supersedes: int | None
    superseded_by: int | None
    amendment_reason: str
    alerts: list[ResponseAlertOut]
