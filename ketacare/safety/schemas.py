import datetime as dt

from ketacare.core.schemas import Schema


class AlertOut(Schema):
    id: int
    patient_id: int
    code: str
    severity: str
    message: str
    source_type: str
    source_id: int
    raised_at: dt.datetime
    status: str
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    action_taken: str
    seconds_to_acknowledge: int | None

    @staticmethod
    def resolve_acknowledged_by(obj) -> str | None:
        return obj.acknowledged_by.username if obj.acknowledged_by_id else None


class AcknowledgeIn(Schema):
    action: str | None = None
