import datetime as dt

from ketacare.core.schemas import Schema


class InstrumentOutcomeOut(Schema):
    instrument: str
    title: str
    values: int
    baseline: float | None
    baseline_at: dt.datetime | None
    latest: float | None
    latest_at: dt.datetime | None
    change: float | None
    pct_change: float | None
    response: bool | None
    remission: bool | None
    days_to_first_response: float | None
    relapses: int


class PatientOutcomesOut(Schema):
    patient_id: int
    doses: int
    first_dose_at: dt.datetime | None
    instruments: list[InstrumentOutcomeOut]


class RateOut(Schema):
    numerator: int | str
    denominator: int | str
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class MeanOut(Schema):
    n: int | str
    mean: float | None
    ci_low: float | None
    ci_high: float | None


class CurvePointOut(Schema):
    day: float
    at_risk: int
    survival: float
    ci_low: float | None
    ci_high: float | None


class InstrumentReportOut(Schema):
    instrument: str
    baseline: MeanOut
    baseline_bands: dict[str, int | str]
    response: RateOut
    remission: RateOut
    change: MeanOut
    relapse_median_days: float | None
    relapse_curve: list[CurvePointOut]


class ReportOut(Schema):
    deidentified: bool
    min_cell: int
    patients: int | str
    doses: int | str
    dropout: RateOut
    instruments: list[InstrumentReportOut]
