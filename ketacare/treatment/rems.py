"""The REMS Patient Monitoring Form of one session: the domain snapshot filled from what the session recorded.

Source: docs/domain/esketamine-and-rems.md §8.3 (fields; BP prior to administration, at 40 min and prior to
completion; total minutes from the 1st device to the end of monitoring), §7 (clock from the first device).
Rules live in domain/rems.py; this module only reads the session's rows.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

from django.utils import timezone

from ketacare.core import clock
from ketacare.treatment import choices as c
from ketacare.treatment.domain.rems import (
    PMF_FIELDS,
    BloodPressure,
    PmfDraft,
    PmfStatus,
    RemsSettings,
    SessionSnapshot,
    pmf_from_snapshot,
    pmf_status,
)
from ketacare.treatment.domain.vitals import evaluate_vitals
from ketacare.treatment.models import DosingSession, PatientMonitoringForm
from ketacare.treatment.selectors import (
    rems_enrolled,
    rems_setting_current,
    rems_settings,
    session_protocol,
    to_domain_reading,
)

# Versioned form templates: a new paper/online form version is a new entry, old forms keep theirs.
PMF_TEMPLATES = {"2021-11": "treatment/rems/pmf_2021_11.html"}
# The PMF's "40 min post-administration" BP (esketamine-and-rems.md §6, §8.3: re-measure at ≈ 40 min, ≈ Cmax). Which
# readings count as "≈ 40 min" is not in the sources: ± 10 min is a [U] placeholder.
BP_40_MIN_WINDOW = dt.timedelta(minutes=10)

FIELD_LABELS = {
    "patient_first_name": "Patient first name", "patient_middle_initial": "Middle initial",
    "patient_last_name": "Patient last name", "patient_birth_date": "Birth date", "patient_sex": "Sex",
    "first_treatment": "First treatment", "patient_rems_enrolled": "Patient enrolled in the REMS",
    "benzodiazepines": "Benzodiazepines", "non_benzodiazepine_sedative_hypnotics": "Non-benzodiazepine sedative "
    "hypnotics", "psychostimulants": "Psychostimulants", "maois": "MAOIs", "opioids": "Opioids",
    "hcp_first_name": "Monitoring HCP first name", "hcp_last_name": "Monitoring HCP last name",
    "hcp_telephone": "HCP telephone", "hcp_email": "HCP email", "setting_name": "Healthcare setting",
    "setting_address_1": "Address 1", "setting_address_2": "Address 2", "setting_city": "City",
    "setting_state": "State", "setting_zip": "ZIP", "treatment_date": "Treatment date",
    "dose_administered": "Dose administered", "lot_number": "Lot number",
    "total_treatment_minutes": "Total minutes from 1st device to end of monitoring",
    "ready_to_leave_minutes": "Would have been ready to leave after (min)",
    "vitals_acceptable_before_administration": "Vital signs acceptable before administration",
    "vitals_acceptable_before_completion": "Vital signs acceptable before session completion",
    "bp_prior_to_administration": "BP prior to administration", "bp_40_min_post_administration": "BP 40 min "
    "post-administration", "bp_prior_to_completion": "BP prior to session completion", "sedation": "Sedation",
    "dissociation": "Dissociation", "respiratory_depression": "Respiratory depression",
}
SECTION_LABELS = {"patient": "Patient", "concomitant_medication": "Concomitant medication",
                  "monitoring_hcp": "Monitoring healthcare provider", "healthcare_setting": "Healthcare setting",
                  "session": "Treatment session", "rems_evaluation": "REMS evaluation", "vital_signs": "Vital signs",
                  "blood_pressure": "Blood pressure", "adverse_effects": "Adverse effects"}


def _bp(row) -> BloodPressure | None:
    if row is None or row.systolic_mmhg is None:
        return None
    return BloodPressure(row.systolic_mmhg, row.diastolic_mmhg)


def session_snapshot(session: DosingSession) -> SessionSnapshot:
    """Everything the form needs, read from the session's rows (None where nothing was recorded)."""
    patient = session.patient
    protocol = session_protocol(session)
    t = protocol.thresholds
    readings = list(session.vitals.order_by("taken_at", "id"))
    pre = [r for r in readings if r.pre_dose]
    post = [r for r in readings if not r.pre_dose]
    first = session.first_dose_at
    ended = session.discharged_at or (session.state_changed_at if session.state == c.SessionState.ESCALATED
                                      else None)
    administrations = list(session.administrations.order_by("given_at", "id"))
    bp_pre = next((r for r in reversed(pre) if r.systolic_mmhg is not None), None)
    bp_40 = None
    if first is not None:
        target = first + dt.timedelta(minutes=40)
        near = [r for r in post if r.systolic_mmhg is not None and abs(r.taken_at - target) <= BP_40_MIN_WINDOW]
        bp_40 = min(near, key=lambda r: abs(r.taken_at - target), default=None)
    bp_end = next((r for r in reversed(post) if r.systolic_mmhg is not None and r is not bp_40
                   and (ended is None or r.taken_at <= ended)), None)
    baseline = to_domain_reading(bp_pre) if bp_pre is not None else None
    effects = {e for check in session.side_effect_checks.all() for e in check.effects}
    moaas = [r.moaas for r in readings if r.moaas is not None]
    cadss = [r.cadss_total for r in post if r.cadss_total is not None]
    breathing = [r for r in post if r.resp_rate_per_min is not None or r.spo2_pct is not None]

    def observed(flag: bool, any_data: bool) -> bool | None:
        return True if flag else (False if any_data else None)

    earlier_dosed = DosingSession.objects.filter(
        patient=patient, clinic_id=session.clinic_id, course__route=c.Route.INTRANASAL,
        first_dose_at__isnull=False, first_dose_at__lt=first or clock.now()).exclude(pk=session.pk).exists()
    hcp = session.discharged_by
    rems_row = rems_setting_current(session.clinic_id)
    local_day = timezone.localdate(first) if first else session.planned_on
    return SessionSnapshot(
        treatment_on=local_day,
        patient_first_name=patient.given_name, patient_last_name=patient.family_name,
        patient_birth_date=patient.date_of_birth, patient_sex=patient.get_sex_display(),
        first_treatment=not earlier_dosed,
        patient_rems_enrolled=rems_enrolled(patient, on=local_day),
        benzodiazepines=session.benzodiazepines,
        non_benzodiazepine_sedative_hypnotics=session.non_benzodiazepine_sedative_hypnotics,
        psychostimulants=session.psychostimulants, maois=session.maois, opioids=session.opioids,
        hcp_first_name=hcp.first_name if hcp else None, hcp_last_name=hcp.last_name if hcp else None,
        hcp_telephone=rems_row.telephone if rems_row else None, hcp_email=hcp.email if hcp else None,
        setting_name=(rems_row.setting_name if rems_row and rems_row.setting_name else session.clinic.name),
        setting_address_1=rems_row.address_1 if rems_row else None,
        setting_address_2=rems_row.address_2 if rems_row else None,
        setting_city=rems_row.city if rems_row else None, setting_state=rems_row.state if rems_row else None,
        setting_zip=rems_row.zip_code if rems_row else None,
        dose_mg=sum((a.mg for a in administrations), Decimal(0)) if administrations else None,
        lot_number=", ".join(dict.fromkeys(a.lot_number for a in administrations)) or None,
        first_device_at=first, monitoring_completed_at=ended,
        ready_to_leave_minutes=session.ready_to_leave_minutes,
        vitals_acceptable_before_administration=(
            None if baseline is None else not evaluate_vitals(baseline, t)),
        vitals_acceptable_before_completion=(
            None if bp_end is None else not evaluate_vitals(to_domain_reading(bp_end), t, baseline)),
        bp_prior_to_administration=_bp(bp_pre), bp_40_min_post_administration=_bp(bp_40),
        bp_prior_to_completion=_bp(bp_end),
        # Any MOAA/S below 5 is sedation (4 = mild, instruments.md §8), not only the alert level.
        sedation=observed("sedation" in effects or any(m < 5 for m in moaas),
                          bool(moaas) or bool(effects)),
        dissociation=observed("dissociation" in effects or any(x > t.cadss_alert_above for x in cadss),
                              bool(cadss) or bool(effects)),
        respiratory_depression=observed(
            "respiratory_depression" in effects or any(
                (r.resp_rate_per_min is not None and r.resp_rate_per_min < t.resp_rate_alert_below_per_min)
                or (r.spo2_pct is not None and r.spo2_pct < t.spo2_alert_below_pct) for r in breathing),
            bool(breathing) or bool(effects)),
    )


def form_draft(form: PatientMonitoringForm) -> PmfDraft:
    """The form's fields: frozen at submission, otherwise computed from the session now."""
    if form.submitted_at is not None:
        return PmfDraft(fields=form.data.get("fields", {}), missing=tuple(form.data.get("missing", ())),
                        problems=tuple(form.data.get("problems", ())))
    settings, _ = rems_settings(form.clinic_id)
    return pmf_from_snapshot(session_snapshot(form.session), settings)


def form_status(form: PatientMonitoringForm, today: dt.date, settings: RemsSettings | None = None) -> PmfStatus:
    """`settings`: the clinic's REMS settings when the caller already holds them (a list of forms)."""
    if settings is None:
        settings, _ = rems_settings(form.clinic_id)
    # The due date was fixed when the form was created; a later configuration change does not move it.
    settings = dataclasses.replace(settings, pmf_due_days=(form.due_on - form.session_on).days)
    return pmf_status(form.session_on, form.submitted_at, today, settings)


def form_sections(draft: PmfDraft) -> list[dict]:
    """The fields grouped by the form's sections, each with its label, value and whether it is missing."""
    sections: dict[str, list] = {}
    missing = set(draft.missing)
    for f in PMF_FIELDS:
        sections.setdefault(f.section, []).append({
            "key": f.key, "label": FIELD_LABELS.get(f.key, f.key), "value": display(draft.fields.get(f.key)),
            "required": f.required, "missing": f.key in missing})
    return [{"key": k, "label": SECTION_LABELS.get(k, k), "fields": v} for k, v in sections.items()]


def display(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime("%m/%d/%Y")
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return dt.date.fromisoformat(value).strftime("%m/%d/%Y")
        except ValueError:
            return value
    return str(value)


def jsonable(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, BloodPressure):
        return str(value)
    if hasattr(value, "is_finite"):
        return str(value)
    return value
