import datetime as dt

from ketacare.core.schemas import Schema


class FindingOut(Schema):
    """One part of an alert: the rule that fired, on which record, what was seen and when."""

    code: str
    severity: str
    message: str
    value: str
    source_type: str
    source_id: int
    observed_at: dt.datetime


class AlertOut(Schema):
    id: int
    patient_id: int
    code: str
    severity: str
    message: str
    source_type: str
    source_id: int
    raised_at: dt.datetime
    updated_at: dt.datetime | None
    findings: list[FindingOut]
    status: str
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    action_taken: str
    seconds_to_acknowledge: int | None

    @staticmethod
    def resolve_findings(obj) -> list:
        return list(obj.findings.all())

    @staticmethod
    def resolve_acknowledged_by(obj) -> str | None:
        return obj.acknowledged_by.username if obj.acknowledged_by_id else None


class AcknowledgeIn(Schema):
    action: str | None = None
