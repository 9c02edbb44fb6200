"""Outcomes API: one patient's outcomes, and the clinic report (identified for clinicians, de-identified for
researchers). Filters: start_on, end_on (researchers: start_year, end_year), route, protocol_ref, diagnosis."""

import datetime as dt

from ninja import Router

from ketacare.accounts.api_auth import api_perm
from ketacare.accounts.roles import Perm
from ketacare.outcomes import selectors, services
from ketacare.outcomes.domain.report import Mean, Rate, build_report
from ketacare.outcomes.schemas import PatientOutcomesOut, ReportOut
from ketacare.patients.selectors import patient_get_for
from ketacare.patients.services import patient_viewed

router = Router(tags=["outcomes"])


def _f(value) -> float | None:
    return None if value is None else float(value)


@router.get("/patients/{patient_id}/outcomes", response=PatientOutcomesOut, auth=api_perm(Perm.CLINICAL_VIEW))
def patient_outcomes(request, patient_id: int):
    patient = patient_get_for(user=request.auth, patient_id=patient_id)
    data = selectors.patient_outcomes(patient=patient,
                                      definitions=selectors.definitions_for_clinic(patient.clinic_id))
    patient_viewed(actor=request.auth, patient=patient, via="api-outcomes")
    instruments = []
    for t in data.trajectories:
        latest = t.points[-1] if t.points else None
        ttr = t.time_to_response
        instruments.append({
            "instrument": t.key, "title": t.title, "values": len(t.points),
            "baseline": _f(t.baseline.total) if t.baseline else None,
            "baseline_at": t.baseline.at if t.baseline else None,
            "latest": _f(latest.total) if latest else None, "latest_at": latest.at if latest else None,
            "change": _f(t.latest.change) if t.latest else None,
            "pct_change": _f(t.latest.pct_change) if t.latest else None,
            "response": t.latest.is_response if t.latest else None,
            "remission": t.latest.is_remission if t.latest else None,
            "days_to_first_response": ttr.days if ttr and ttr.event else None,
            "relapses": sum(1 for s in t.durability if s.outcome.status == "relapsed"),
        })
    return {"patient_id": patient.pk, "doses": len(data.doses), "first_dose_at": data.doses[0] if data.doses else None,
            "instruments": instruments}


def _rate(r: Rate) -> dict:
    return {"numerator": r.numerator, "denominator": r.denominator, "rate": r.rate, "ci_low": r.low, "ci_high": r.high}


def _mean(m: Mean) -> dict:
    return {"n": m.n, "mean": m.mean, "ci_low": m.low, "ci_high": m.high}


def _report_out(request, cohort: selectors.CohortFilter, *, deidentified: bool) -> dict:
    clinic_id = request.auth.clinic_id
    services.summaries_refresh(clinic_id=clinic_id)
    report = build_report(selectors.cohort_aggregate(clinic_id=clinic_id, cohort=cohort), deidentified=deidentified)
    services.report_viewed(actor=request.auth, cohort=cohort, deidentified=deidentified, via="api")
    return {
        "deidentified": deidentified, "min_cell": report.min_cell, "patients": report.patients, "doses": report.doses,
        "dropout": _rate(report.dropout),
        "instruments": [{
            "instrument": i.key, "baseline": _mean(i.baseline), "baseline_bands": dict(i.bands),
            "response": _rate(i.response), "remission": _rate(i.remission), "change": _mean(i.change),
            "relapse_median_days": i.relapse.median_days,
            "relapse_curve": [{"day": s.time, "at_risk": s.at_risk, "survival": s.survival, "ci_low": s.ci_low,
                               "ci_high": s.ci_high} for s in i.relapse.steps],
        } for i in report.instruments],
    }


@router.get("/outcomes/report", response=ReportOut, auth=api_perm(Perm.CLINICAL_VIEW))
def report(request, start_on: dt.date | None = None, end_on: dt.date | None = None, route: str = "",
           protocol_ref: str = "", diagnosis: str = ""):
    cohort = selectors.CohortFilter(start_on=start_on, end_on=end_on, route=route[:12],
                                    protocol_ref=protocol_ref[:64], diagnosis=diagnosis[:40])
    return _report_out(request, cohort, deidentified=False)


@router.get("/outcomes/research-report", response=ReportOut, auth=api_perm(Perm.RESEARCH_VIEW))
def research_report(request, start_year: int | None = None, end_year: int | None = None, route: str = "",
                    protocol_ref: str = "", diagnosis: str = ""):
    cohort = selectors.CohortFilter(
        start_on=dt.date(start_year, 1, 1) if start_year and 1900 < start_year < 2200 else None,
        end_on=dt.date(end_year, 12, 31) if end_year and 1900 < end_year < 2200 else None,
        route=route[:12], protocol_ref=protocol_ref[:64], diagnosis=diagnosis[:40])
    return _report_out(request, cohort, deidentified=True)
