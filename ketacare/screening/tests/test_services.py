"""Intake, evaluation, decisions and consent services: validation (nothing stored on bad input), exact units,
snapshots, signing rules, immutability and audit rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.core.errors import Conflict, PermissionDenied
from ketacare.screening import selectors, services
from ketacare.screening.domain.units import CM_PER_IN, KG_PER_LB
from ketacare.screening.models import (
    ConsentDocument,
    Diagnosis,
    EligibilityDecision,
    Intake,
    Medication,
    PatientConsent,
    RecordLocked,
)
from ketacare.screening.selectors import route_clearance
from ketacare.screening.tests.factories import ConsentDocumentFactory, record_baseline_questionnaires
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db
ESK, IV = "esketamine", "iv-ketamine"


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def audit_actions(patient=None):
    events = AuditEvent.objects.all() if patient is None else AuditEvent.objects.filter(patient_id=patient.pk)
    return list(events.order_by("id").values_list("action", flat=True))


# --- intake: partial progress, history, bad input ----------------------------------------------------------------


def test_partial_progress_is_saved_and_each_change_audited_with_its_previous_value(patient, nurse):
    services.intake_update(actor=nurse, patient=patient, referring_clinician="Dr Abbott",
                           referral_reason="Social anxiety, two failed SSRIs")
    intake = services.intake_update(actor=nurse, patient=patient, referring_clinician="Dr Baptiste")
    assert Intake.objects.count() == 1
    assert intake.referring_clinician == "Dr Baptiste" and intake.referral_reason.startswith("Social anxiety")
    events = AuditEvent.objects.filter(action=AuditAction.INTAKE_UPDATED, patient_id=patient.pk).order_by("id")
    assert events.count() == 2
    assert events[1].data["changed"] == {"referring_clinician": ["Dr Abbott", "Dr Baptiste"]}
    assert events[1].actor == nurse


def test_saving_unchanged_values_writes_no_audit_row(patient, nurse):
    services.intake_update(actor=nurse, patient=patient, referring_clinician="Dr Abbott")
    services.intake_update(actor=nurse, patient=patient, referring_clinician="Dr Abbott")
    assert audit_actions(patient).count(AuditAction.INTAKE_UPDATED) == 1


TODAY = timezone.localdate


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"weight_entered": Decimal("0"), "weight_unit": "kg"}, "weight_entered", "outside the plausible range"),
    ({"weight_entered": Decimal("700"), "weight_unit": "kg"}, "weight_entered", "outside the plausible range"),
    ({"weight_entered": Decimal("800"), "weight_unit": "kg"}, "weight_entered", "was it entered in lb?"),
    ({"height_entered": Decimal("70"), "height_unit": "cm"}, "height_entered", "entered in inches"),
    ({"height_entered": Decimal("180"), "height_unit": "in"}, "height_entered", "labelled inches"),
    ({"weight_entered": Decimal("70")}, "weight_unit", "Choose the unit"),
    ({"referral_received_on": "tomorrow"}, "referral_received_on", "future"),
    ({"measured_on": "tomorrow", "weight_entered": Decimal("70"), "weight_unit": "kg"}, "measured_on", "future"),
    ({"vitals_taken_at": "in an hour", "systolic_mmhg": 120, "diastolic_mmhg": 80}, "vitals_taken_at", "future"),
    ({"systolic_mmhg": 80, "diastolic_mmhg": 120, "vitals_taken_at": "now"}, "diastolic_mmhg", "swapped"),
    ({"systolic_mmhg": 400, "vitals_taken_at": "now"}, "systolic_mmhg", "outside"),
    ({"spo2_pct": 101, "vitals_taken_at": "now"}, "spo2_pct", "less than or equal to 100"),
    ({"weight_entered": Decimal("70"), "weight_unit": "kg"}, "measured_on", "when height and weight"),
    ({"psychosis_history": False, "psychosis_current": True}, "psychosis_current", '"Psychosis, ever'),
], ids=["weight-0", "weight-700", "weight-in-lb", "height-in-inches", "height-cm-as-inches", "no-unit",
        "future-referral", "future-measurement", "future-vitals", "bp-swapped", "bp-implausible", "spo2", "no-date",
        "contradiction"])
def test_bad_intake_input_is_refused_with_a_field_message_and_nothing_is_stored(patient, nurse, fields, field, words):
    now = timezone.now()
    moments = {"tomorrow": TODAY() + dt.timedelta(days=1), "in an hour": now + dt.timedelta(hours=1), "now": now}
    fields = {k: moments.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    with pytest.raises(ValidationError) as refused:
        services.intake_update(actor=nurse, patient=patient, **fields)
    messages = errors_of(refused)
    assert field in messages, messages
    assert words in " ".join(messages[field])
    assert not Intake.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_refused_change_leaves_the_saved_intake_as_it_was(patient, nurse):
    services.intake_update(actor=nurse, patient=patient, weight_entered=Decimal("70"), weight_unit="kg",
                           measured_on=TODAY())
    with pytest.raises(ValidationError):
        services.intake_update(actor=nurse, patient=patient, weight_entered=Decimal("700"), weight_unit="kg")
    intake = Intake.objects.get()
    assert intake.weight_kg == Decimal("70") and intake.weight_entered == Decimal("70")
    assert audit_actions(patient).count(AuditAction.INTAKE_UPDATED) == 1


@pytest.mark.parametrize(("value", "unit", "si_field", "expected"), [
    (Decimal("154.32"), "lb", "weight_kg", Decimal("154.32") * KG_PER_LB),
    (Decimal("100"), "lb", "weight_kg", Decimal("45.359237")),
    (Decimal("220"), "lb", "weight_kg", Decimal("99.7903214")),
    (Decimal("72.50"), "kg", "weight_kg", Decimal("72.5")),
    (Decimal("70.5"), "in", "height_cm", Decimal("179.07")),
    (Decimal("65.25"), "in", "height_cm", Decimal("65.25") * CM_PER_IN),
    (Decimal("172.4"), "cm", "height_cm", Decimal("172.4")),
])
def test_units_are_converted_exactly_and_stored_in_si(patient, nurse, value, unit, si_field, expected):
    kind = si_field.split("_")[0]
    services.intake_update(actor=nurse, patient=patient, measured_on=TODAY(),
                           **{f"{kind}_entered": value, f"{kind}_unit": unit})
    intake = Intake.objects.get()
    assert getattr(intake, si_field) == expected  # exact Decimal equality after the database round trip
    assert getattr(intake, f"{kind}_entered") == value and getattr(intake, f"{kind}_unit") == unit
    facts = selectors.intake_facts(patient, intake)
    assert getattr(facts, si_field) == expected


def test_unknown_or_malformed_icd10_codes_are_refused_and_nothing_is_stored(patient, nurse):
    for code, words in (("Z99.99", "not in KetaCare's curated table"), ("hello", "is not an ICD-10-CM code"),
                        ("", "is not an ICD-10-CM code")):
        with pytest.raises(ValidationError) as refused:
            services.diagnosis_add(actor=nurse, patient=patient, code=code)
        assert words in errors_of(refused)["code"][0]
    assert not Diagnosis.objects.exists() and not AuditEvent.objects.exists()


def test_diagnosis_codes_are_normalized_and_listed_once(patient, nurse):
    diagnosis = services.diagnosis_add(actor=nurse, patient=patient, code=" f4010 ")
    assert diagnosis.code == "F40.10"
    with pytest.raises(ValidationError) as refused:
        services.diagnosis_add(actor=nurse, patient=patient, code="F40.10")
    assert "already recorded" in errors_of(refused)["code"][0]
    services.diagnosis_remove(actor=nurse, patient=patient, diagnosis_id=diagnosis.pk)
    assert not Diagnosis.objects.exists()
    assert [e.data for e in AuditEvent.objects.filter(action=AuditAction.INTAKE_UPDATED).order_by("id")] == [
        {"diagnosis_added": "F40.10"}, {"diagnosis_removed": "F40.10"}]


def test_a_diagnosis_contradicting_a_recorded_no_is_refused(patient, nurse):
    services.intake_update(actor=nurse, patient=patient, aneurysmal_vascular_disease=False)
    with pytest.raises(ValidationError) as refused:
        services.diagnosis_add(actor=nurse, patient=patient, code="I67.1")
    assert "recorded as No but diagnosis I67.1" in " ".join(errors_of(refused)["aneurysmal_vascular_disease"])
    assert not Diagnosis.objects.exists()


def test_medication_flags_become_facts_only_once_the_list_is_complete(patient, nurse):
    services.medication_add(actor=nurse, patient=patient, name="clonazepam", dose="0.5 mg bid",
                            is_benzodiazepine=True, lorazepam_eq_mg_per_day=Decimal("2"))
    services.medication_add(actor=nurse, patient=patient, name="lorazepam", is_benzodiazepine=True,
                            lorazepam_eq_mg_per_day=Decimal("1.5"))
    services.medication_add(actor=nurse, patient=patient, name="tranylcypromine", is_maoi=True)
    facts = selectors.intake_facts(patient, Intake.objects.get())
    assert facts.takes_maoi is None and facts.takes_benzodiazepine is None  # list not complete: unknown
    services.intake_update(actor=nurse, patient=patient, medications_complete=True)
    facts = selectors.intake_facts(patient, Intake.objects.get())
    assert (facts.takes_benzodiazepine, facts.takes_maoi, facts.takes_opioid) == (True, True, False)
    assert facts.benzodiazepine_lorazepam_eq_mg_per_day == Decimal("3.5")


def test_a_benzodiazepine_without_its_equivalent_leaves_the_dose_unknown(patient, nurse):
    services.medication_add(actor=nurse, patient=patient, name="diazepam", is_benzodiazepine=True)
    services.intake_update(actor=nurse, patient=patient, medications_complete=True)
    facts = selectors.intake_facts(patient, Intake.objects.get())
    assert facts.takes_benzodiazepine is True and facts.benzodiazepine_lorazepam_eq_mg_per_day is None


def test_lorazepam_equivalent_only_for_benzodiazepines(patient, nurse):
    with pytest.raises(ValidationError) as refused:
        services.medication_add(actor=nurse, patient=patient, name="sertraline",
                                lorazepam_eq_mg_per_day=Decimal("1"))
    assert "lorazepam_eq_mg_per_day" in errors_of(refused)
    with pytest.raises(ValidationError) as refused:
        services.medication_add(actor=nurse, patient=patient, name="")
    assert "name" in errors_of(refused)
    assert not Medication.objects.exists()


def test_trials_give_the_resistance_summary(patient, nurse):
    services.trial_add(actor=nurse, patient=patient, name="sertraline", kind="oral_antidepressant",
                       adequate=True, response="none", current_episode=True)
    services.trial_add(actor=nurse, patient=patient, name="CBT", kind="psychotherapy", response="partial")
    summary = selectors.resistance_summary(Intake.objects.get())
    assert summary.adequate_failed_antidepressant_trials == 1 and summary.psychotherapy_trials == 1
    assert summary.is_trd is False
    with pytest.raises(ValidationError) as refused:
        services.trial_add(actor=nurse, patient=patient, name="x", kind="magic")
    assert "kind" in errors_of(refused)


# --- evaluation and decisions ------------------------------------------------------------------------------------


def test_evaluation_snapshots_facts_and_result_per_route_and_is_audited(assessed, nurse):
    decisions = services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert [d.route for d in decisions] == [IV, ESK]
    for d in decisions:
        assert d.status == "eligible" and d.missing_facts == [] and d.ruleset_version == "2026.2"
        assert d.facts["diagnoses"] == ["F33.1", "F40.10"] and d.facts["weight_kg"] == "70"
        assert d.facts["cssrs_risk"] == "none" and d.facts["phq9_item9"] == 0
        assert set(d.sources) == {"cssrs-screen", "phq-9"}
        assert d.signed_at is None and d.previous is None
    esk = decisions[1]
    assert {f["rule_code"] for f in esk.findings} == {"esk.meets_trd_definition", "esk.rems_patient_enrollment"}
    assert all(f["citation"].startswith("docs/domain/") for d in decisions for f in d.findings)
    assert audit_actions(assessed).count(AuditAction.ELIGIBILITY_EVALUATED) == 2


def test_evaluating_unchanged_facts_again_reuses_the_open_evaluation(assessed, nurse):
    first = services.eligibility_evaluate(actor=nurse, patient=assessed)
    again = services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert [d.pk for d in again] == [d.pk for d in first]
    assert EligibilityDecision.objects.count() == 2


def test_re_evaluation_after_a_change_makes_a_new_decision_pointing_to_the_last(assessed, nurse):
    (first,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[ESK])
    services.intake_update(actor=nurse, patient=assessed, pregnant=True)
    (second,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[ESK])
    assert second.previous == first and second.status == "eligible_with_cautions"
    first.refresh_from_db()
    assert first.status == "eligible" and first.facts["pregnant"] is False


def test_missing_facts_make_the_evaluation_incomplete_and_name_them(patient, nurse):
    services.intake_update(actor=nurse, patient=patient, hypertension=False)
    (iv,) = services.eligibility_evaluate(actor=nurse, patient=patient, routes=[IV])
    assert iv.status == "incomplete"
    assert {"weight_kg", "diagnoses", "pregnant", "cssrs_risk", "phq9_item9"} <= set(iv.missing_facts)
    assert "hypertension" not in iv.missing_facts


@pytest.mark.parametrize(("route", "changes", "code"), [
    (ESK, {"aneurysmal_vascular_disease": True}, "esk.aneurysmal_vascular_disease"),
    (ESK, {"arteriovenous_malformation": True}, "esk.arteriovenous_malformation"),
    (ESK, {"intracerebral_hemorrhage_history": True}, "esk.intracerebral_hemorrhage_history"),
    (ESK, {"hypersensitivity_ketamine": True}, "esk.hypersensitivity"),
    (ESK, {"raised_intracranial_pressure": True}, "esk.raised_intracranial_pressure"),
    (ESK, {"hypertension": True, "hypertension_uncontrolled": True}, "esk.uncontrolled_hypertension"),
    (IV, {"psychosis_history": True, "psychosis_current": True}, "iv.psychosis_current"),
    (IV, {"mania_or_bipolar_history": True, "mania_current": True}, "iv.mania_current"),
    (IV, {"pregnant": True}, "iv.pregnancy"),
    (IV, {"breastfeeding": True}, "iv.breastfeeding"),
    (IV, {"lacks_capacity_to_consent": True}, "iv.lacks_capacity_to_consent"),
    (IV, {"ketamine_misuse_history": True}, "iv.ketamine_misuse_history"),
    (IV, {"substance_use_disorder_history": True, "substance_use_disorder_current": True},
     "iv.substance_use_disorder_current"),
    (IV, {"hypertension": True, "hypertension_uncontrolled": True}, "iv.uncontrolled_hypertension"),
    (IV, {"hypersensitivity_ketamine": True}, "iv.hypersensitivity"),
    (IV, {"aneurysmal_vascular_disease": True}, "iv.aneurysmal_vascular_disease"),
    (IV, {"arteriovenous_malformation": True}, "iv.arteriovenous_malformation"),
    (IV, {"intracerebral_hemorrhage_history": True}, "iv.intracerebral_hemorrhage_history"),
    (IV, {"raised_intracranial_pressure": True}, "iv.raised_intracranial_pressure"),
])
def test_each_absolute_contraindication_recorded_at_intake_makes_the_route_not_eligible(assessed, nurse, route,
                                                                                        changes, code):
    services.intake_update(actor=nurse, patient=assessed, **changes)
    (decision,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[route])
    assert decision.status == "not_eligible"
    assert code in [f["rule_code"] for f in decision.findings_by_verdict("exclude")]


def test_a_coded_diagnosis_counts_as_the_condition(assessed, nurse):
    services.intake_update(actor=nurse, patient=assessed, arteriovenous_malformation=None)
    services.diagnosis_add(actor=nurse, patient=assessed, code="Q28.2")
    (decision,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[ESK])
    assert decision.status == "not_eligible"


def test_baseline_questionnaires_feed_the_suicide_rules(assessed, nurse):
    record_baseline_questionnaires(assessed, nurse, cssrs="high", phq9_item9=2)
    (decision,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[IV])
    assert decision.status == "not_eligible"  # instruments.md §6.3: HIGH risk is a stop before any dose
    (stop,) = decision.findings_by_verdict("exclude")
    assert stop["rule_code"] == "suicide.cssrs_high"
    assert stop["citation"].startswith("docs/domain/instruments.md §6.3") and "repeat C-SSRS" in stop["clears"]
    codes = {f["rule_code"] for f in decision.findings_by_verdict("caution")}
    assert "suicide.phq9_item9_positive" in codes


def test_an_unanswered_phq9_item9_is_missing_not_zero(assessed, nurse):
    record_baseline_questionnaires(assessed, nurse, phq9_item9=None)
    (decision,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[IV])
    assert decision.status == "incomplete" and "phq9_item9" in decision.missing_facts


def sign(decision, actor, outcome="approve", justification=""):
    return services.decision_sign(actor=actor, decision=decision, outcome=outcome, justification=justification)


def test_prescriber_approves_an_eligible_route_and_it_is_audited(assessed, nurse, prescriber):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    signed = sign(iv, prescriber)
    assert (signed.outcome, signed.signed_by, signed.is_effective_approval) == ("approve", prescriber, True)
    event = AuditEvent.objects.get(action=AuditAction.ELIGIBILITY_SIGNED)
    assert event.data == {"route": IV, "outcome": "approve", "status": "eligible"} and event.actor == prescriber


def test_only_a_prescriber_signs(assessed, nurse):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    with pytest.raises(PermissionDenied):
        sign(iv, nurse)
    iv.refresh_from_db()
    assert iv.signed_at is None


def test_cautions_need_a_written_justification(assessed, nurse, prescriber):
    services.intake_update(actor=nurse, patient=assessed, hypertension=True)
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert iv.status == "eligible_with_cautions"
    with pytest.raises(ValidationError) as refused:
        sign(iv, prescriber, justification="ok")
    assert "justification" in errors_of(refused)
    assert not EligibilityDecision.objects.filter(signed_at__isnull=False).exists()
    signed = sign(iv, prescriber, justification="BP controlled on amlodipine; monitor at 40 min.")
    assert signed.justification.startswith("BP controlled")


def test_an_exclusion_cannot_be_approved_or_overridden_without_a_reason(assessed, nurse, prescriber):
    services.intake_update(actor=nurse, patient=assessed, hypersensitivity_ketamine=True)
    _, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    with pytest.raises(ValidationError) as refused:
        sign(esk, prescriber, "approve", "I know better than the rules.")
    assert "exclusion applies" in errors_of(refused)["outcome"][0]
    with pytest.raises(ValidationError) as refused:
        sign(esk, prescriber, "override", "")
    assert "justification" in errors_of(refused)
    assert EligibilityDecision.objects.get(pk=esk.pk).signed_at is None


def test_an_override_takes_effect_only_with_a_second_different_prescriber(assessed, nurse, prescriber,
                                                                          prescriber2):
    services.intake_update(actor=nurse, patient=assessed, raised_intracranial_pressure=True)
    _, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    ConsentDocumentFactory(clinic=assessed.clinic, route=ESK)
    services.consent_record(actor=nurse, patient=assessed, route=ESK, typed_name="Ximena Quintero", witness=nurse)
    override = sign(esk, prescriber, "override", "Resolved idiopathic intracranial hypertension; neurology agrees.")
    assert override.awaiting_cosign and not override.is_effective_approval
    assert not route_clearance(patient=assessed, route=ESK, on=TODAY()).ok
    with pytest.raises(ValidationError) as refused:
        services.decision_cosign(actor=prescriber, decision=override)
    assert "second, different prescriber" in errors_of(refused)["cosigned_by"][0]
    with pytest.raises(PermissionDenied):
        services.decision_cosign(actor=nurse, decision=override)
    cosigned = services.decision_cosign(actor=prescriber2, decision=override)
    assert cosigned.is_effective_approval and cosigned.cosigned_by == prescriber2
    assert route_clearance(patient=assessed, route=ESK, on=TODAY()).ok
    with pytest.raises(Conflict):
        services.decision_cosign(actor=prescriber2, decision=override)
    assert audit_actions(assessed).count(AuditAction.ELIGIBILITY_COSIGNED) == 1


def test_override_is_only_for_exclusions_and_only_with_complete_facts(patient, assessed, nurse, prescriber):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    with pytest.raises(ValidationError) as refused:
        sign(iv, prescriber, "override", "No reason to override anything.")
    assert "only for an exclusion" in errors_of(refused)["outcome"][0]
    services.intake_update(actor=nurse, patient=assessed, pregnant=True, breastfeeding=None)
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert iv.status == "not_eligible" and iv.missing_facts == ["breastfeeding"]
    with pytest.raises(ValidationError) as refused:
        sign(iv, prescriber, "override", "Patient insists on treatment.")
    assert "missing facts first" in errors_of(refused)["outcome"][0]


def test_cosign_is_only_for_overrides(assessed, nurse, prescriber, prescriber2):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    sign(iv, prescriber)
    with pytest.raises(Conflict):
        services.decision_cosign(actor=prescriber2, decision=iv)


def test_incomplete_cannot_be_approved_but_can_be_declined(patient, nurse, prescriber):
    (iv,) = services.eligibility_evaluate(actor=nurse, patient=patient, routes=[IV])
    with pytest.raises(ValidationError) as refused:
        sign(iv, prescriber)
    assert "incomplete" in errors_of(refused)["outcome"][0]
    with pytest.raises(ValidationError):
        sign(iv, prescriber, "decline")
    declined = sign(iv, prescriber, "decline", "Not a candidate: prefers ECT referral.")
    assert declined.outcome == "decline" and not declined.is_effective_approval


def test_signed_decisions_are_immutable(assessed, nurse, prescriber):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    signed = sign(iv, prescriber)
    with pytest.raises(Conflict):
        sign(signed, prescriber, "decline", "Changed my mind after all.")
    signed.justification = "edited later"
    with pytest.raises(RecordLocked):
        signed.save()
    with pytest.raises(RecordLocked):
        EligibilityDecision.objects.filter(pk=signed.pk).update(outcome="decline")
    with pytest.raises(RecordLocked):
        EligibilityDecision.objects.get(pk=signed.pk).delete()
    with pytest.raises(RecordLocked):
        EligibilityDecision.objects.filter(pk=signed.pk).delete()
    assert EligibilityDecision.objects.get(pk=signed.pk).outcome == "approve"


def test_later_intake_edits_never_change_a_signed_decision(assessed, nurse, prescriber):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    sign(iv, prescriber)
    before = EligibilityDecision.objects.get(pk=iv.pk).facts
    services.intake_update(actor=nurse, patient=assessed, weight_entered=Decimal("165"), weight_unit="lb",
                           pregnant=True)
    after = EligibilityDecision.objects.get(pk=iv.pk)
    assert after.facts == before and after.facts["weight_kg"] == "70" and after.facts["pregnant"] is False


def test_signing_needs_the_newest_evaluation_of_unchanged_facts(assessed, nurse, prescriber):
    (old,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[IV])
    services.intake_update(actor=nurse, patient=assessed, hepatic_disease=True)
    with pytest.raises(services.IntakeChanged):
        sign(old, prescriber)
    (new,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=[IV])
    with pytest.raises(services.DecisionSuperseded):
        sign(old, prescriber)
    assert sign(new, prescriber).previous == old


# --- consent documents and consent -------------------------------------------------------------------------------


def document_fields(**overrides):
    values = {"route": ESK, "version": "1.0", "title": "Consent to esketamine treatment",
              "body": "Risks: dissociation, sedation, raised blood pressure.\n\nYou may withdraw at any time.",
              "effective_on": TODAY()}
    return {**values, **overrides}


def test_admin_drafts_edits_and_publishes_a_consent_document(admin):
    document = services.consent_document_create(actor=admin, **document_fields())
    services.consent_document_update(actor=admin, document=document, title="Consent to SPRAVATO treatment")
    published = services.consent_document_publish(actor=admin, document=document)
    assert published.is_published and published.published_by == admin
    assert [e for e in audit_actions() if e.startswith("consent_document")] == [
        "consent_document_saved", "consent_document_saved", "consent_document_published"]


def test_a_published_consent_document_never_changes(admin):
    document = services.consent_document_publish(
        actor=admin, document=services.consent_document_create(actor=admin, **document_fields()))
    with pytest.raises(services.DocumentPublished):
        services.consent_document_update(actor=admin, document=document, body="Quietly changed.")
    document.body = "Quietly changed."
    with pytest.raises(RecordLocked):
        document.save()
    with pytest.raises(RecordLocked):
        document.delete()
    with pytest.raises(services.DocumentPublished):
        services.consent_document_publish(actor=admin, document=document)
    assert ConsentDocument.objects.get().body.startswith("Risks")


def test_consent_document_versions_are_unique_per_route_and_only_admins_write(admin, nurse):
    services.consent_document_create(actor=admin, **document_fields())
    with pytest.raises(ValidationError) as refused:
        services.consent_document_create(actor=admin, **document_fields())
    assert "version" in errors_of(refused)
    services.consent_document_create(actor=admin, **document_fields(route=IV))
    with pytest.raises(PermissionDenied):
        services.consent_document_create(actor=nurse, **document_fields(version="2.0"))


def test_the_current_document_is_the_newest_published_in_effect(admin, clinic):
    old = ConsentDocumentFactory(clinic=clinic, route=ESK, version="1", effective_on=TODAY() - dt.timedelta(days=90))
    new = ConsentDocumentFactory(clinic=clinic, route=ESK, version="2", effective_on=TODAY() - dt.timedelta(days=1))
    ConsentDocumentFactory(clinic=clinic, route=ESK, version="3", effective_on=TODAY() + dt.timedelta(days=10))
    ConsentDocumentFactory(clinic=clinic, route=ESK, version="4", published_at=None, published_by=None)
    assert selectors.current_consent_document(clinic, ESK) == new
    assert selectors.current_consent_document(clinic, ESK, TODAY() - dt.timedelta(days=30)) == old
    assert selectors.current_consent_document(clinic, IV) is None


def test_consent_is_captured_with_typed_name_witness_and_version(patient, nurse, prescriber):
    document = ConsentDocumentFactory(clinic=patient.clinic, route=ESK, version="2.1")
    consent = services.consent_record(actor=prescriber, patient=patient, route=ESK,
                                      typed_name="  ximena   QUINTERO ", witness=nurse)
    assert (consent.document, consent.typed_name, consent.witness, consent.recorded_by) == (
        document, "ximena QUINTERO", nurse, prescriber)
    event = AuditEvent.objects.get(action=AuditAction.CONSENT_RECORDED)
    assert event.data == {"route": ESK, "document_version": "2.1", "witness": nurse.pk}
    assert selectors.current_consent(patient, ESK) == consent
    with pytest.raises(Conflict):
        services.consent_record(actor=prescriber, patient=patient, route=ESK, typed_name="Ximena Quintero",
                                witness=nurse)


def test_consent_input_is_checked_and_nothing_stored_when_refused(patient, nurse):
    with pytest.raises(ValidationError) as refused:
        services.consent_record(actor=nurse, patient=patient, route=IV, typed_name="Ximena Quintero", witness=nurse)
    assert "no published consent document" in errors_of(refused)["route"][0]
    ConsentDocumentFactory(clinic=patient.clinic, route=IV)
    frontdesk = UserFactory(role="front_desk", clinic=patient.clinic)
    stranger = UserFactory(role="nurse", clinic=ClinicFactory())
    for typed, witness, field in (("Someone Else", nurse, "typed_name"), ("", nurse, "typed_name"),
                                  ("Ximena Quintero", frontdesk, "witness"), ("Ximena Quintero", stranger, "witness"),
                                  ("Ximena Quintero", None, "witness")):
        with pytest.raises(ValidationError) as refused:
            services.consent_record(actor=nurse, patient=patient, route=IV, typed_name=typed, witness=witness)
        assert field in errors_of(refused)
    assert not PatientConsent.objects.exists() and not AuditEvent.objects.exists()


def test_withdrawal_blocks_the_route_and_is_final(assessed, nurse, prescriber):
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    sign(iv, prescriber)
    ConsentDocumentFactory(clinic=assessed.clinic, route=IV)
    consent = services.consent_record(actor=nurse, patient=assessed, route=IV, typed_name="Ximena Quintero",
                                      witness=nurse)
    assert route_clearance(patient=assessed, route=IV, on=TODAY()).ok
    with pytest.raises(ValidationError):
        services.consent_withdraw(actor=nurse, consent=consent, reason=" ")
    withdrawn = services.consent_withdraw(actor=nurse, consent=consent, reason="Patient phoned to withdraw.")
    clearance = route_clearance(patient=assessed, route=IV, on=TODAY())
    assert not clearance.ok and clearance.reasons[0].startswith("Consent to IV ketamine withdrawn on ")
    with pytest.raises(services.ConsentAlreadyWithdrawn):
        services.consent_withdraw(actor=nurse, consent=withdrawn, reason="Again")
    withdrawn.typed_name = "changed"
    with pytest.raises(RecordLocked):
        withdrawn.save()
    with pytest.raises(RecordLocked):
        withdrawn.delete()
    assert audit_actions(assessed).count(AuditAction.CONSENT_WITHDRAWN) == 1


def test_a_coded_recent_event_with_its_date_is_a_stop_and_an_old_one_a_caution(assessed, nurse):
    """iv-ketamine.md §7 / esketamine-and-rems.md §4: the event date recorded with the diagnosis decides."""
    services.intake_update(actor=nurse, patient=assessed, cardiovascular_disease=True)
    recent = services.diagnosis_add(actor=nurse, patient=assessed, code="I21.4",
                                    onset_on=timezone.localdate() - dt.timedelta(days=20))
    iv, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert (iv.status, esk.status) == ("not_eligible", "not_eligible")
    assert {f["rule_code"] for f in iv.findings_by_verdict("exclude")} == {"iv.recent_cardiovascular_event"}
    assert iv.facts["diagnosis_onsets"] == [["I21.4", recent.onset_on.isoformat()]]
    services.diagnosis_remove(actor=nurse, patient=assessed, diagnosis_id=recent.pk)
    services.diagnosis_add(actor=nurse, patient=assessed, code="I21.4", onset_on=dt.date(2020, 1, 1))
    iv, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    assert (iv.status, esk.status) == ("eligible_with_cautions", "eligible_with_cautions")


def test_an_event_date_in_the_future_is_refused_and_nothing_is_stored(assessed, nurse):
    with pytest.raises(ValidationError) as refused:
        services.diagnosis_add(actor=nurse, patient=assessed, code="I63.9",
                               onset_on=timezone.localdate() + dt.timedelta(days=2))
    assert "onset_on" in refused.value.message_dict or "diagnosis_onsets" in refused.value.message_dict
    assert not Diagnosis.objects.filter(code="I63.9").exists()
