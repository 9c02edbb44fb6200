"""SPRAVATO REMS Patient Monitoring Form: fields, completeness, 7-calendar-day deadline, status and sorting."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from ketacare.treatment.domain.rems import (
    PMF_FIELDS,
    BloodPressure,
    PmfStatus,
    PmfTask,
    RemsSettings,
    SessionSnapshot,
    pmf_due_on,
    pmf_from_snapshot,
    pmf_required,
    pmf_status,
    sort_by_deadline,
)

SESSION_ON = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def snapshot(**changes) -> SessionSnapshot:
    complete = SessionSnapshot(
        treatment_on=SESSION_ON,
        patient_first_name="Ada", patient_last_name="Example", patient_birth_date=dt.date(1980, 4, 1),
        patient_sex="female", first_treatment=False,
        benzodiazepines=False, non_benzodiazepine_sedative_hypnotics=False, psychostimulants=False, maois=False,
        hcp_first_name="Sam", hcp_last_name="Nurse", hcp_telephone="555-0100", hcp_email="sam@clinic.test",
        setting_name="KetaCare Clinic", setting_address_1="1 Main St", setting_city="Springfield",
        setting_state="IL", setting_zip="62701",
        dose_mg=Decimal(56), lot_number="LOT123",
        first_device_at=T0, monitoring_completed_at=T0 + dt.timedelta(minutes=125),
        bp_prior_to_administration=BloodPressure(128, 82), bp_40_min_post_administration=BloodPressure(150, 90),
        bp_prior_to_completion=BloodPressure(130, 84),
    )
    return dataclasses.replace(complete, **changes)


# Asterisked on the 11/2021 form plus the software rule (lot, three BPs, duration): esketamine-and-rems.md §8.3.
EXPECTED_REQUIRED = {
    "patient_first_name", "patient_last_name", "patient_birth_date", "patient_sex",
    "benzodiazepines", "non_benzodiazepine_sedative_hypnotics", "psychostimulants", "maois",
    "hcp_first_name", "hcp_last_name", "hcp_telephone", "hcp_email",
    "setting_name", "setting_address_1", "setting_city", "setting_state", "setting_zip",
    "treatment_date", "dose_administered", "lot_number", "total_treatment_minutes",
    "bp_prior_to_administration", "bp_40_min_post_administration", "bp_prior_to_completion",
}


def test_required_fields_match_the_domain_file():
    assert {f.key for f in PMF_FIELDS if f.required} == EXPECTED_REQUIRED
    assert len({f.key for f in PMF_FIELDS}) == len(PMF_FIELDS)


def test_complete_snapshot_gives_a_complete_form_with_computed_fields():
    draft = pmf_from_snapshot(snapshot())
    assert draft.complete and draft.missing == () and draft.problems == ()
    assert draft.fields["treatment_date"] == SESSION_ON
    assert draft.fields["dose_administered"] == "56 mg"
    assert draft.fields["total_treatment_minutes"] == 125
    assert draft.fields["bp_40_min_post_administration"] == BloodPressure(150, 90)
    assert str(draft.fields["bp_40_min_post_administration"]) == "150/90"
    assert list(draft.fields) == [f.key for f in PMF_FIELDS]


@pytest.mark.parametrize(("dose", "option"), [(Decimal(84), "84 mg"), (Decimal(28), "other: 28 mg"),
                                              (Decimal("56.0"), "56 mg")])
def test_dose_administered_options(dose, option):
    assert pmf_from_snapshot(snapshot(dose_mg=dose)).fields["dose_administered"] == option


SNAPSHOT_SOURCE = {"treatment_date": None, "dose_administered": "dose_mg",
                   "total_treatment_minutes": "monitoring_completed_at"}


@pytest.mark.parametrize("key", sorted(EXPECTED_REQUIRED - {"treatment_date"}))
def test_each_missing_required_field_is_listed(key):
    source = SNAPSHOT_SOURCE.get(key, key)
    draft = pmf_from_snapshot(snapshot(**{source: None}))
    assert draft.missing == (key,)
    assert not draft.complete


def test_blank_text_counts_as_missing():
    assert pmf_from_snapshot(snapshot(lot_number="  ")).missing == ("lot_number",)


def test_optional_fields_may_be_empty():
    draft = pmf_from_snapshot(snapshot(patient_middle_initial=None, setting_address_2=None, opioids=None,
                                       ready_to_leave_minutes=None))
    assert draft.complete


@pytest.mark.parametrize(("minutes", "ok"), [(119, False), (120, True)])
def test_total_duration_must_be_at_least_120_minutes(minutes, ok):
    draft = pmf_from_snapshot(snapshot(monitoring_completed_at=T0 + dt.timedelta(minutes=minutes)))
    assert draft.complete is ok
    assert draft.fields["total_treatment_minutes"] == minutes


def test_first_treatment_needs_rems_enrollment():
    assert pmf_from_snapshot(snapshot(first_treatment=True)).missing == ("patient_rems_enrolled",)
    not_enrolled = pmf_from_snapshot(snapshot(first_treatment=True, patient_rems_enrolled=False))
    assert not_enrolled.missing == () and "enrollment" in not_enrolled.problems[0]
    assert pmf_from_snapshot(snapshot(first_treatment=True, patient_rems_enrolled=True)).complete


def test_deadline_is_7_calendar_days_after_the_session():
    assert pmf_due_on(SESSION_ON) == dt.date(2026, 3, 9)
    assert pmf_due_on(dt.date(2026, 12, 28)) == dt.date(2027, 1, 4)


@pytest.mark.parametrize(("today", "status"), [
    (dt.date(2026, 3, 2), PmfStatus.PENDING),
    (dt.date(2026, 3, 6), PmfStatus.PENDING),  # day 4
    (dt.date(2026, 3, 7), PmfStatus.DUE_SOON),  # day 5: escalate
    (dt.date(2026, 3, 9), PmfStatus.DUE_SOON),  # day 7: last day
    (dt.date(2026, 3, 10), PmfStatus.OVERDUE),
])
def test_status_over_time(today, status):
    assert pmf_status(SESSION_ON, None, today) is status


def test_submitted_wins_even_when_late():
    assert pmf_status(SESSION_ON, T0 + dt.timedelta(days=10), dt.date(2026, 3, 20)) is PmfStatus.SUBMITTED


def test_clinic_settings_change_the_deadline():
    flags = RemsSettings(pmf_due_days=10, pmf_due_soon_after_days=8)
    assert pmf_status(SESSION_ON, None, dt.date(2026, 3, 10), flags) is PmfStatus.DUE_SOON
    assert pmf_status(SESSION_ON, None, dt.date(2026, 3, 9), flags) is PmfStatus.PENDING


def test_sorting_by_deadline_puts_unsubmitted_earliest_first():
    tasks = [
        PmfTask(1, dt.date(2026, 3, 5)),
        PmfTask(2, dt.date(2026, 2, 20), submitted_at=T0),
        PmfTask(3, dt.date(2026, 2, 25)),
        PmfTask(4, dt.date(2026, 3, 5)),
        PmfTask(5, dt.date(2026, 3, 1)),
    ]
    assert [t.session_id for t in sort_by_deadline(tasks)] == [3, 5, 1, 4, 2]


@pytest.mark.parametrize(("setting", "flags", "required"), [
    ("outpatient", RemsSettings(), True),
    ("inpatient", RemsSettings(), False),
    ("ed", RemsSettings(), False),
    ("outpatient", RemsSettings(pmf_required=False), False),
])
def test_pmf_required_only_for_outpatient_settings(setting, flags, required):
    assert pmf_required(setting, flags) is required
