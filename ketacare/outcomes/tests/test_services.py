"""Outcome services: clinic overrides, progress letters, the materialized summaries and their refresh, and the
SQL cohort aggregate (which must equal the plain-Python aggregate of the same summaries)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import PermissionDenied
from ketacare.instruments.services import response_record
from ketacare.outcomes import selectors, services
from ketacare.outcomes.domain.report import aggregate
from ketacare.outcomes.domain.summary import summarize_course
from ketacare.outcomes.models import (
    InstrumentOutcome,
    LetterLocked,
    OutcomeRefresh,
    OutcomeSetting,
    PatientOutcome,
    ProgressLetter,
)
from ketacare.outcomes.tests.factories import letter, treated_patients
from ketacare.patients.models import Patient
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db


# --- outcome settings -----------------------------------------------------------------------------------------------


def test_setting_saves_a_revision_overrides_the_definition_and_is_audited(users):
    admin = users["admin"]
    services.outcome_setting_save(actor=admin, instrument_key="phq-9", reason="Medical director: 40 %",
                                  response_pct_reduction=Decimal(40))
    second = services.outcome_setting_save(actor=admin, instrument_key="phq-9", reason="Stricter remission",
                                           response_pct_reduction=Decimal(40), remission_max_total=Decimal(3))
    assert second.revision == 2
    definition = selectors.definitions_for_clinic(admin.clinic_id)["phq-9"]
    assert (definition.response_pct_reduction, definition.remission_max_total) == (Decimal(40), Decimal(3))
    assert definition.source.startswith("clinic override")
    assert selectors.definitions_for_clinic(ClinicFactory().pk)["phq-9"].response_pct_reduction == Decimal(50)
    events = AuditEvent.objects.filter(action=AuditAction.OUTCOME_SETTING_CHANGED)
    assert events.count() == 2 and events.first().data["revision"] == 2


@pytest.mark.parametrize(("key", "values", "field"), [
    ("phq-9", {"response_pct_reduction": Decimal(0)}, "response_pct_reduction"),
    ("nope", {}, "instrument_key"),
    ("phq-9", {"colour": "red"}, "colour"),
])
def test_invalid_setting_stores_nothing(users, key, values, field):
    with pytest.raises(ValidationError) as exc:
        services.outcome_setting_save(actor=users["admin"], instrument_key=key, reason="x", **values)
    assert field in exc.value.message_dict
    assert not OutcomeSetting.objects.exists() and not AuditEvent.objects.exists()


def test_setting_needs_a_reason_and_the_configure_permission(users):
    with pytest.raises(ValidationError, match="reason"):
        services.outcome_setting_save(actor=users["admin"], instrument_key="phq-9", reason=" ")
    with pytest.raises(PermissionDenied):
        services.outcome_setting_save(actor=users["prescriber"], instrument_key="phq-9", reason="x")
    assert not OutcomeSetting.objects.exists()


# --- letters ---------------------------------------------------------------------------------------------------------


def test_letter_is_drafted_edited_and_sent_then_locked(clinic, users):
    (pid,) = treated_patients(clinic, 1, users=users)
    patient = Patient.objects.get(pk=pid)
    prescriber = users["prescriber"]
    data = selectors.patient_outcomes(patient=patient, definitions=selectors.definitions_for_clinic(clinic.pk))
    from ketacare.outcomes import letters

    snap = letters.snapshot(patient, data, today=dt.date.today())
    draft = services.letter_draft(actor=prescriber, patient=patient, snapshot=snap,
                                  recipient=letters.recipient_of(patient), summary=letters.draft_summary(snap))
    assert draft.recipient_name and "Plan:" in draft.summary
    assert snap["scores"] and snap["doses"] and snap["patient"]["mrn"] == patient.mrn
    services.letter_update(actor=prescriber, letter=draft, summary="Responded well. Plan: maintenance.")
    sent = services.letter_send(actor=prescriber, letter=draft, sent_via="fax")
    assert sent.is_sent and ProgressLetter.objects.get().status == "sent"
    with pytest.raises(LetterLocked):
        services.letter_update(actor=prescriber, letter=sent, summary="changed")
    stored = ProgressLetter.objects.get()
    stored.summary = "rewritten behind the service's back"
    with pytest.raises(LetterLocked):
        stored.save()
    actions = list(AuditEvent.objects.filter(patient_id=pid, action__startswith="letter").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["letter_drafted", "letter_edited", "letter_sent"]
    assert AuditEvent.objects.get(action="letter_edited").data == {"changed": ["summary"]}


def test_letter_cannot_be_sent_without_summary_or_channel_and_nurses_cannot_draft(clinic, users):
    (pid,) = treated_patients(clinic, 1, users=users)
    patient = Patient.objects.get(pk=pid)
    draft = letter(patient, users["prescriber"], summary="")
    with pytest.raises(ValidationError) as exc:
        services.letter_send(actor=users["prescriber"], letter=draft, sent_via="")
    assert set(exc.value.message_dict) == {"sent_via", "summary"}
    assert ProgressLetter.objects.get().status == "draft"
    with pytest.raises(PermissionDenied):
        services.letter_draft(actor=users["nurse"], patient=patient, snapshot={})


# --- summaries -------------------------------------------------------------------------------------------------------


def _rows():
    return sorted(InstrumentOutcome.objects.values_list(
        "outcome__patient_id", "instrument_key", "baseline", "endpoint", "response", "remission", "ttr_days",
        "relapse_status", "relapse_days", "relapse_event"))


def test_synth_summaries_equal_summaries_rebuilt_from_the_records():
    from ketacare.seed.synth import generate

    result = generate(patients=40, clinics=2, seed=11, progress=False)
    written = _rows()
    outcomes = sorted(PatientOutcome.objects.values_list("patient_id", "doses", "induction_completed", "closed",
                                                         "sessions_with_side_effects", "diagnoses", "route"))
    assert len(written) >= 40
    for clinic_id in result["clinic_ids"]:
        services.summaries_rebuild(clinic_id=clinic_id)
    assert _rows() == written
    assert sorted(PatientOutcome.objects.values_list("patient_id", "doses", "induction_completed", "closed",
                                                     "sessions_with_side_effects", "diagnoses", "route")) == outcomes


def test_sql_aggregate_equals_the_python_aggregate_for_every_filter(clinic, users):
    treated_patients(clinic, 60, users=users, seed=3)
    services.summaries_refresh(clinic_id=clinic.pk)
    definitions = selectors.definitions_for_clinic(clinic.pk)
    patient_ids = list(Patient.objects.filter(clinic=clinic).values_list("id", flat=True))
    indexes = selectors.index_courses(patient_ids, definitions)
    summaries = {i.patient_id: (i, summarize_course(i.facts, definitions)) for i in indexes}
    now = timezone.now()
    first_on = {pid: services.clock_local_date(s.first_dose_at) for pid, (_, s) in summaries.items()}
    middle = sorted(first_on.values())[len(first_on) // 2]
    for cohort, keep in [
        (selectors.CohortFilter(), lambda i: True),
        (selectors.CohortFilter(route="iv"), lambda i: i.route == "iv"),
        (selectors.CohortFilter(diagnosis="mdd"), lambda i: "|mdd|" in i.diagnoses),
        (selectors.CohortFilter(diagnosis="mdd", route="intranasal"),
         lambda i: "|mdd|" in i.diagnoses and i.route == "intranasal"),
        (selectors.CohortFilter(start_on=middle), lambda i: first_on[i.patient_id] >= middle),
    ]:
        sql = selectors.cohort_aggregate(clinic_id=clinic.pk, cohort=cohort, now=now)
        python = aggregate([s for i, s in summaries.values() if keep(i)], now=now)
        assert sql.patients == python.patients > 0
        assert (sql.doses, sql.dropouts, sql.sessions_with_side_effects) == (
            python.doses, python.dropouts, python.sessions_with_side_effects)
        assert set(sql.instruments) == set(python.instruments)
        for key, ia in python.instruments.items():
            other = sql.instruments[key]
            assert (other.responders, other.response_n, other.remitters, other.remission_n) == (
                ia.responders, ia.response_n, ia.remitters, ia.remission_n)
            assert (other.baseline.n, other.change.n) == (ia.baseline.n, ia.change.n)
            assert other.change.total == pytest.approx(ia.change.total)
            assert other.change.total_sq == pytest.approx(ia.change.total_sq)
            assert other.band_counts == ia.band_counts and other.ttr_days == ia.ttr_days
            assert {k: list(v) for k, v in other.relapse.items()} == ia.relapse
        assert {k: (v.patients, v.episodes, v.minutes.n) for k, v in sql.side_effects.items()} == {
            k: (v.patients, v.episodes, v.minutes.n) for k, v in python.side_effects.items()}
        assert {k: (v.patients, v.alerts, v.acknowledged, v.ack_minutes) for k, v in sql.alerts.items()} == {
            k: (v.patients, v.alerts, v.acknowledged, v.ack_minutes) for k, v in python.alerts.items()}
        assert (sql.adverse_events.patients, sql.serious_adverse_events.patients) == (
            python.adverse_events.patients, python.serious_adverse_events.patients)


def test_refresh_recomputes_a_patient_after_a_response_is_recorded(clinic, users):
    (pid,) = treated_patients(clinic, 1, users=users, seed=5)
    other_clinic = ClinicFactory()
    treated_patients(other_clinic, 1, seed=6)
    assert services.summaries_refresh(clinic_id=clinic.pk) == 1  # first refresh: the whole clinic
    assert OutcomeRefresh.objects.get(clinic=clinic).definitions_key
    assert services.summaries_refresh(clinic_id=clinic.pk) == 0  # nothing new
    patient = Patient.objects.get(pk=pid)
    outcome = PatientOutcome.objects.get(patient=patient)
    # A new PHQ-9 inside the endpoint window changes the end-of-induction value.
    at = outcome.last_dose_at + dt.timedelta(days=1)
    answers = {f"/{code}": "LA6568-5" for code in ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
                                                  "44258-2", "44252-5", "44253-3", "44260-8")}
    response_record(patient=patient, actor=users["nurse"], instrument_key="phq-9", answers=answers,
                    answered_at=min(at, timezone.now()), mode="self_report")
    assert services.summaries_refresh(clinic_id=clinic.pk) == 1
    endpoint = InstrumentOutcome.objects.get(outcome__patient=patient, instrument_key="phq-9").endpoint
    if at <= timezone.now():
        assert endpoint == 0
    assert PatientOutcome.objects.filter(clinic=other_clinic).count() == 0  # never refreshed, never touched


def test_a_changed_definition_rebuilds_the_clinic(clinic, users):
    treated_patients(clinic, 3, users=users, seed=9)
    services.summaries_refresh(clinic_id=clinic.pk)
    before = OutcomeRefresh.objects.get(clinic=clinic).definitions_key
    services.outcome_setting_save(actor=users["admin"], instrument_key="phq-9", reason="x",
                                  response_pct_reduction=Decimal(20))
    assert services.summaries_refresh(clinic_id=clinic.pk) == 3
    assert OutcomeRefresh.objects.get(clinic=clinic).definitions_key != before


def test_outcome_views_and_exports_are_audited(users):
    services.report_viewed(actor=users["prescriber"], cohort=selectors.CohortFilter(route="iv"),
                           deidentified=False)
    services.outcomes_exported(actor=users["prescriber"], what="clinic_report", fmt="csv",
                               cohort=selectors.CohortFilter())
    viewed, exported = AuditEvent.objects.order_by("id")
    assert viewed.action == AuditAction.OUTCOMES_REPORT_VIEWED and viewed.data["filters"] == {"route": "iv"}
    assert exported.action == AuditAction.OUTCOMES_EXPORTED and exported.data["format"] == "csv"


def test_refresh_rereads_recent_audit_rows_that_committed_late(clinic, users):
    (pid,) = treated_patients(clinic, 1, users=users, seed=5)
    services.summaries_refresh(clinic_id=clinic.pk)
    patient = Patient.objects.get(pk=pid)
    answers = {f"/{code}": "LA6568-5" for code in ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
                                                  "44258-2", "44252-5", "44253-3", "44260-8")}
    response_record(patient=patient, actor=users["nurse"], instrument_key="phq-9", answers=answers,
                    answered_at=timezone.now(), mode="self_report")
    # As if the refresh had already read past this row's id while its transaction was still open.
    latest = AuditEvent.objects.order_by("-id").first().pk
    OutcomeRefresh.objects.filter(clinic=clinic).update(marks={"audit": latest}, refreshed_at=timezone.now())
    assert services.summaries_refresh(clinic_id=clinic.pk) == 1
    later = timezone.now() + dt.timedelta(minutes=10)
    OutcomeRefresh.objects.filter(clinic=clinic).update(marks={"audit": latest}, refreshed_at=later)
    assert services.summaries_refresh(clinic_id=clinic.pk, now=later) == 0  # outside the window: not again
