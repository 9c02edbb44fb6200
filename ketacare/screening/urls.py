from django.urls import path

from ketacare.screening import views

app_name = "screening"
urlpatterns = [
    path("<int:patient_id>/", views.wizard, name="wizard"),
    path("<int:patient_id>/referral/", views.step_referral, name="step-referral"),
    path("<int:patient_id>/diagnoses/", views.step_diagnoses, name="step-diagnoses"),
    path("<int:patient_id>/diagnoses/add/", views.diagnosis_add, name="diagnosis-add"),
    path("<int:patient_id>/diagnoses/<int:diagnosis_id>/remove/", views.diagnosis_remove, name="diagnosis-remove"),
    path("<int:patient_id>/history/", views.step_history, name="step-history"),
    path("<int:patient_id>/medications/", views.step_medications, name="step-medications"),
    path("<int:patient_id>/medications/add/", views.medication_add, name="medication-add"),
    path("<int:patient_id>/medications/<int:medication_id>/remove/", views.medication_remove,
         name="medication-remove"),
    path("<int:patient_id>/trials/", views.step_trials, name="step-trials"),
    path("<int:patient_id>/trials/add/", views.trial_add, name="trial-add"),
    path("<int:patient_id>/trials/<int:trial_id>/remove/", views.trial_remove, name="trial-remove"),
    path("<int:patient_id>/measurements/", views.step_measurements, name="step-measurements"),
    path("<int:patient_id>/questionnaires/", views.step_questionnaires, name="step-questionnaires"),
    path("<int:patient_id>/review/", views.step_review, name="step-review"),
    path("<int:patient_id>/decision/", views.step_decision, name="step-decision"),
    path("<int:patient_id>/consent/", views.step_consent, name="step-consent"),
    path("decisions/<int:decision_id>/", views.decision_detail, name="decision-detail"),
    path("decisions/<int:decision_id>/sign/", views.decision_sign, name="decision-sign"),
    path("decisions/<int:decision_id>/cosign/", views.decision_cosign, name="decision-cosign"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("eligibility-settings/", views.eligibility_settings, name="eligibility-settings"),
    path("consent-documents/", views.consent_documents, name="consent-documents"),
    path("consent-documents/new/", views.consent_document_create, name="consent-document-create"),
    path("consent-documents/<int:document_id>/", views.consent_document_detail, name="consent-document-detail"),
    path("consent-documents/<int:document_id>/edit/", views.consent_document_edit, name="consent-document-edit"),
    path("consent-documents/<int:document_id>/publish/", views.consent_document_publish,
         name="consent-document-publish"),
]
