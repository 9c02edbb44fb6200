from django.urls import path

from ketacare.outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("report/", views.report, name="report"),
    path("report/export.csv", views.report_csv, name="report-csv"),
    path("report/patients.csv", views.report_patients_csv, name="report-patients-csv"),
    path("report/export.pdf", views.report_pdf, name="report-pdf"),
    path("research/", views.research, name="research"),
    path("research/export.csv", views.research_csv, name="research-csv"),
    path("research/export.pdf", views.research_pdf, name="research-pdf"),
    path("settings/", views.outcome_settings, name="settings"),
    path("patients/<int:patient_id>/", views.patient_outcomes, name="patient"),
    path("patients/<int:patient_id>/chart.svg", views.patient_svg, name="patient-svg"),
    path("patients/<int:patient_id>/section/", views.patient_section, name="patient-section"),
    path("patients/<int:patient_id>/outcomes.pdf", views.patient_pdf, name="patient-pdf"),
    path("patients/<int:patient_id>/letters/", views.letter_create, name="letter-create"),
    path("letters/<int:letter_id>/", views.letter_detail, name="letter"),
    path("letters/<int:letter_id>/edit/", views.letter_edit, name="letter-edit"),
    path("letters/<int:letter_id>/send/", views.letter_send, name="letter-send"),
    path("letters/<int:letter_id>/letter.pdf", views.letter_pdf, name="letter-pdf"),
]
