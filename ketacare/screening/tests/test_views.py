"""The intake wizard pages, htmx partials, the prescriber's decision page, consent pages and the chart card."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditAction, AuditEvent
from ketacare.screening import services
from ketacare.screening.models import ConsentDocument, Diagnosis, EligibilityDecision, Intake, PatientConsent
from ketacare.screening.tests.factories import ConsentDocumentFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def url(name, *args):
    return reverse(f"screening:{name}", args=args)


@pytest.fixture
def as_nurse(client, nurse):
    client.force_login(nurse)
    return client


def test_wizard_opens_at_the_first_open_step(as_nurse, patient, nurse):
    assert as_nurse.get(url("wizard", patient.pk))["Location"] == url("step-referral", patient.pk)
    services.intake_update(actor=nurse, patient=patient, referring_clinician="Dr A", referral_reason="SAD",
                           referral_received_on=timezone.localdate())
    assert as_nurse.get(url("wizard", patient.pk))["Location"] == url("step-diagnoses", patient.pk)


def test_every_step_renders_with_the_step_list(as_nurse, patient):
    for step in ("referral", "diagnoses", "history", "medications", "trials", "measurements", "questionnaires",
                 "review", "decision", "consent"):
        response = as_nurse.get(url(f"step-{step}", patient.pk))
        assert response.status_code == 200, step
        body = response.content.decode()
        assert 'aria-label="Intake steps"' in body and 'aria-current="step"' in body
        assert "Quintero, Ximena" in body
    assert AuditEvent.objects.filter(action=AuditAction.PATIENT_VIEWED, patient_id=patient.pk,
                                     data__via="intake:history").exists()


def test_saving_a_step_moves_on_or_stays(as_nurse, patient):
    data = {"referring_clinician": "Dr Abbott", "referring_organization": "", "referral_reason": "Social anxiety",
            "referral_received_on": "2026-01-05"}
    response = as_nurse.post(url("step-referral", patient.pk), data)
    assert response.status_code == 302 and response["Location"] == url("step-diagnoses", patient.pk)
    response = as_nurse.post(url("step-referral", patient.pk), {**data, "stay": "1"})
    assert response["Location"] == url("step-referral", patient.pk)
    assert Intake.objects.get().referring_clinician == "Dr Abbott"


def test_history_answers_are_three_valued(as_nurse, patient):
    response = as_nurse.post(url("step-history", patient.pk), {"psychosis_history": "False", "pregnant": "True",
                                                                 "hypertension": ""})
    assert response.status_code == 302
    intake = Intake.objects.get()
    assert (intake.psychosis_history, intake.pregnant, intake.hypertension) == (False, True, None)
    page = as_nurse.get(url("step-history", patient.pk)).content.decode()
    assert 'role="radiogroup"' in page and "Not asked yet" in page


def test_bad_measurements_show_field_errors_and_store_nothing(as_nurse, patient):
    response = as_nurse.post(url("step-measurements", patient.pk), {
        "weight_entered": "0", "weight_unit": "kg", "height_entered": "70", "height_unit": "cm",
        "measured_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat(), "systolic_mmhg": "120",
        "diastolic_mmhg": "80", "vitals_taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Nothing was saved" in body and "outside the plausible range" in body
    assert "was it entered in inches?" in body and "future" in body
    assert not Intake.objects.exists()


def test_measurements_in_pounds_and_inches_are_stored_in_si(as_nurse, patient):
    response = as_nurse.post(url("step-measurements", patient.pk), {
        "weight_entered": "154.32", "weight_unit": "lb", "height_entered": "70.5", "height_unit": "in",
        "measured_on": timezone.localdate().isoformat(), "systolic_mmhg": "", "diastolic_mmhg": "",
        "heart_rate_bpm": "", "spo2_pct": "", "vitals_taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    intake = Intake.objects.get()
    assert intake.weight_kg == Decimal("154.32") * Decimal("0.45359237") and intake.height_cm == Decimal("179.07")
    assert intake.vitals_taken_at is None  # a pre-filled time with no vitals records nothing
    page = as_nurse.get(url("step-measurements", patient.pk)).content.decode()
    assert "Stored: 69.998 kg · 179.07 cm · BMI 21.8" in page


def test_htmx_adds_a_diagnosis_and_returns_only_the_list(as_nurse, patient):
    response = as_nurse.post(url("diagnosis-add", patient.pk), {"code": "f41.1", "note": "since 2019"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'id="diagnoses-panel"' in body
    assert "F41.1" in body and "Generalized anxiety disorder" in body
    response = as_nurse.post(url("diagnosis-add", patient.pk), {"code": "Q99.9"}, headers=HTMX)
    assert response.status_code == 200 and "not in KetaCare" in response.content.decode()
    assert list(Diagnosis.objects.values_list("code", flat=True)) == ["F41.1"]
    diagnosis = Diagnosis.objects.get()
    response = as_nurse.post(url("diagnosis-remove", patient.pk, diagnosis.pk), headers=HTMX)
    assert response.status_code == 200 and "No diagnoses recorded yet" in response.content.decode()


def test_a_diagnosis_takes_its_event_date_and_a_future_one_is_refused(as_nurse, patient):
    response = as_nurse.post(url("diagnosis-add", patient.pk), {"code": "I63.9", "onset_on": "2999-01-01"},
                             headers=HTMX)
    assert response.status_code == 200 and not Diagnosis.objects.exists()
    assert "future" in response.content.decode()
    response = as_nurse.post(url("diagnosis-add", patient.pk), {"code": "I63.9", "onset_on": "2026-01-05"},
                             headers=HTMX)
    assert "2026-01-05" in response.content.decode()
    assert Diagnosis.objects.get().onset_on == dt.date(2026, 1, 5)


def test_without_htmx_the_list_forms_still_work(as_nurse, patient):
    response = as_nurse.post(url("medication-add", patient.pk), {"name": "sertraline", "dose": "100 mg"})
    assert response.status_code == 302
    response = as_nurse.post(url("medication-add", patient.pk), {"name": ""})
    assert response.status_code == 422 and "Nothing was saved" in response.content.decode()
    response = as_nurse.post(url("trial-add", patient.pk), {"name": "sertraline", "kind": "oral_antidepressant",
                                                           "adequate": "True", "response": "none",
                                                           "current_episode": "True"})
    assert response.status_code == 302
    assert "Treatment resistance" in as_nurse.get(url("step-trials", patient.pk)).content.decode()


def test_marking_a_list_complete_moves_on(as_nurse, patient):
    response = as_nurse.post(url("step-medications", patient.pk))
    assert response["Location"] == url("step-trials", patient.pk)
    assert Intake.objects.get().medications_complete


def test_removing_another_intakes_row_is_404(as_nurse, patient, clinic, nurse):
    from tests.factories import PatientFactory

    other = PatientFactory(clinic=clinic)
    diagnosis = services.diagnosis_add(actor=nurse, patient=other, code="F41.1")
    assert as_nurse.post(url("diagnosis-remove", patient.pk, diagnosis.pk)).status_code == 404
    assert Diagnosis.objects.count() == 1


def test_front_desk_and_other_clinics_are_kept_out(client, patient, foreign_patient, nurse):
    client.force_login(UserFactory(role=Role.FRONT_DESK, clinic=patient.clinic))
    assert client.get(url("step-referral", patient.pk)).status_code == 403
    client.force_login(nurse)
    assert client.get(url("step-referral", foreign_patient.pk)).status_code == 404
    assert client.post(url("diagnosis-add", foreign_patient.pk), {"code": "F41.1"}).status_code == 404
    assert not Diagnosis.objects.exists()


def test_review_lists_what_is_missing_with_links_and_records_the_evaluation(as_nurse, patient):
    page = as_nurse.get(url("step-review", patient.pk)).content.decode()
    assert "Still to record" in page and "C-SSRS screener" in page and url("step-measurements", patient.pk) in page
    assert not EligibilityDecision.objects.exists()  # looking stores nothing
    response = as_nurse.post(url("step-review", patient.pk))
    assert response["Location"] == url("step-decision", patient.pk)
    assert EligibilityDecision.objects.filter(status="incomplete").count() == 2


def test_the_nurse_sees_the_decision_awaiting_a_prescriber(as_nurse, assessed, nurse):
    services.eligibility_evaluate(actor=nurse, patient=assessed)
    page = as_nurse.get(url("step-decision", assessed.pk)).content.decode()
    assert "Awaiting a prescriber" in page and "Sign decision" not in page


def test_prescriber_signs_on_the_decision_page(client, assessed, nurse, prescriber):
    iv, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    client.force_login(prescriber)
    page = client.get(url("step-decision", assessed.pk)).content.decode()
    assert "Sign decision for IV ketamine" in page and "Rule set" not in page and "rule set 2026.2" in page
    response = client.post(url("decision-sign", iv.pk), {f"d{iv.pk}-outcome": "decline",
                                                         f"d{iv.pk}-justification": ""})
    assert response.status_code == 422 and "reason for declining" in response.content.decode()
    response = client.post(url("decision-sign", iv.pk), {f"d{iv.pk}-outcome": "approve"})
    assert response["Location"] == url("step-decision", assessed.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Decision signed." in page and "Approved" in page and "Priya Raman" in page
    iv.refresh_from_db()
    assert iv.outcome == "approve" and iv.signed_by == prescriber


def test_signing_a_stale_evaluation_is_refused_with_a_message(client, assessed, nurse, prescriber):
    (iv,) = services.eligibility_evaluate(actor=nurse, patient=assessed, routes=["iv-ketamine"])
    services.intake_update(actor=nurse, patient=assessed, hepatic_disease=True)
    client.force_login(prescriber)
    assert "The intake changed after this evaluation" in client.get(url("step-decision", assessed.pk)).content.decode()
    response = client.post(url("decision-sign", iv.pk), {f"d{iv.pk}-outcome": "approve"}, follow=True)
    assert "evaluate again before signing" in response.content.decode()
    assert EligibilityDecision.objects.get(pk=iv.pk).signed_at is None


def test_second_prescriber_cosigns_an_override_on_the_page(client, assessed, nurse, prescriber, prescriber2):
    services.intake_update(actor=nurse, patient=assessed, arteriovenous_malformation=True)
    _, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    client.force_login(prescriber)
    page = client.get(url("step-decision", assessed.pk)).content.decode()
    assert "Override the exclusion" in page and 'value="approve"' not in page.split('id="decision-esketamine"')[1]
    client.post(url("decision-sign", esk.pk), {f"d{esk.pk}-outcome": "override",
                                               f"d{esk.pk}-justification": "Embolised AVM, neurosurgery cleared."})
    page = client.get(url("step-decision", assessed.pk)).content.decode()
    assert "Awaiting a second, different prescriber" in page and "Co-sign the override" not in page
    response = client.post(url("decision-cosign", esk.pk), follow=True)
    assert "second, different prescriber" in response.content.decode()
    client.force_login(prescriber2)
    response = client.post(url("decision-cosign", esk.pk), follow=True)
    assert "Override co-signed" in response.content.decode()
    assert EligibilityDecision.objects.get(pk=esk.pk).cosigned_by == prescriber2


def test_decision_detail_shows_the_snapshot(client, assessed, nurse):
    _, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    client.force_login(UserFactory(role=Role.THERAPIST, clinic=assessed.clinic))
    page = client.get(url("decision-detail", esk.pk)).content.decode()
    assert "Facts evaluated" in page and "esk.rems_patient_enrollment" in page and "2026.2" in page


def test_consent_is_recorded_on_the_consent_step(as_nurse, assessed, nurse):
    ConsentDocumentFactory(clinic=assessed.clinic, route="esketamine", version="3.0", body="Para one.\n\nPara two.")
    page = as_nurse.get(url("step-consent", assessed.pk)).content.decode()
    assert "No published consent document for IV ketamine" in page and "Para two." in page
    response = as_nurse.post(url("step-consent", assessed.pk), {
        "route": "esketamine", "esketamine-typed_name": "Someone Else", "esketamine-witness": nurse.pk,
        "esketamine-understood": "on"})
    assert response.status_code == 422 and "does not match" in response.content.decode()
    response = as_nurse.post(url("step-consent", assessed.pk), {
        "route": "esketamine", "esketamine-typed_name": "Ximena Quintero", "esketamine-witness": nurse.pk})
    assert response.status_code == 422 and "Confirm the patient read" in response.content.decode()
    response = as_nurse.post(url("step-consent", assessed.pk), {
        "route": "esketamine", "esketamine-typed_name": "Ximena Quintero", "esketamine-witness": nurse.pk,
        "esketamine-understood": "on"}, follow=True)
    assert "Consent to Esketamine nasal spray recorded" in response.content.decode()
    consent = PatientConsent.objects.get()
    assert consent.document.version == "3.0" and consent.witness == nurse
    response = as_nurse.post(url("consent-withdraw", consent.pk), {"withdrawal_reason": ""})
    assert response.status_code == 422
    response = as_nurse.post(url("consent-withdraw", consent.pk), {"withdrawal_reason": "Changed her mind."},
                             follow=True)
    assert "Consent withdrawn" in response.content.decode()
    assert PatientConsent.objects.get().withdrawn_at is not None


def test_chart_card_shows_status_findings_and_who_signed(client, assessed, nurse, prescriber):
    services.intake_update(actor=nurse, patient=assessed, hypertension=True)
    iv, esk = services.eligibility_evaluate(actor=nurse, patient=assessed)
    services.decision_sign(actor=prescriber, decision=iv, outcome="approve",
                           justification="Controlled hypertension; BP checks at 40 min.")
    client.force_login(nurse)
    page = client.get(reverse("patients:detail", args=[assessed.pk])).content.decode()
    card = page.split('id="panel-eligibility"')[1]
    assert "Eligible with cautions" in card and "Approved" in card and "Priya Raman" in card
    assert "Hypertension: expect a BP surge" in card and "Awaiting signature" in card
    assert "Continue the intake" in card and "Not cleared" in card
    client.force_login(UserFactory(role=Role.FRONT_DESK, clinic=assessed.clinic))
    assert 'id="panel-eligibility"' not in client.get(reverse("patients:detail", args=[assessed.pk])).content.decode()


def test_admin_drafts_edits_publishes_and_versions_consent_documents(client, admin):
    client.force_login(admin)
    assert "Consent documents" in client.get(reverse("home")).content.decode()
    response = client.post(url("consent-document-create"), {"route": "esketamine", "version": "", "title": "",
                                                             "effective_on": "", "body": ""})
    assert response.status_code == 422 and not ConsentDocument.objects.exists()
    response = client.post(url("consent-document-create"), {
        "route": "esketamine", "version": "1.0", "title": "Consent to esketamine", "effective_on": "2026-01-01",
        "body": "Risks.\n\nWithdrawal."})
    document = ConsentDocument.objects.get()
    assert response["Location"] == url("consent-document-detail", document.pk)
    client.post(url("consent-document-edit", document.pk), {
        "route": "esketamine", "version": "1.0", "title": "Consent to SPRAVATO", "effective_on": "2026-01-01",
        "body": "Risks.\n\nWithdrawal."})
    client.post(url("consent-document-publish", document.pk))
    document.refresh_from_db()
    assert document.is_published and document.title == "Consent to SPRAVATO"
    response = client.get(url("consent-document-edit", document.pk), follow=True)
    assert "never changes" in response.content.decode()
    page = client.get(url("consent-document-create") + f"?from={document.pk}").content.decode()
    assert "Consent to SPRAVATO" in page
    listing = client.get(url("consent-documents")).content.decode()
    assert "In use" in listing and "No consent document yet" in listing


def test_other_clinics_consent_documents_are_404(client, admin):
    client.force_login(admin)
    foreign = ConsentDocumentFactory()
    assert client.get(url("consent-document-detail", foreign.pk)).status_code == 404
    assert client.post(url("consent-document-publish", foreign.pk)).status_code == 404


def test_a_new_stop_shows_its_reason_source_and_what_clears_it_on_the_pages(client, assessed, nurse, prescriber):
    """instruments.md §6.3: the review and decision pages show the HIGH-risk stop with its source and what clears
    it; the signed decision keeps the finding."""
    from ketacare.screening.tests.factories import record_baseline_questionnaires

    record_baseline_questionnaires(assessed, nurse, cssrs="high")
    client.force_login(nurse)
    review = client.get(url("step-review", assessed.pk)).content.decode()
    assert "Not eligible now" in review and "instruments.md §6.3" in review and "Clears when:" in review
    iv, _ = services.eligibility_evaluate(actor=nurse, patient=assessed)
    signed = services.decision_sign(actor=prescriber, decision=iv, outcome="decline",
                                    justification="High suicide risk: referred for same-day evaluation.")
    client.force_login(prescriber)
    page = client.get(url("decision-detail", signed.pk)).content.decode()
    assert "suicide.cssrs_high" in page and "Clears when:" in page and "instruments.md §6.3" in page
    assert any(f["rule_code"] == "suicide.cssrs_high" and f["clears"] for f in signed.findings)
