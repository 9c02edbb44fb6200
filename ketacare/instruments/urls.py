from django.urls import path

from ketacare.instruments import views

app_name = "instruments"
urlpatterns = [
    path("patients/<int:patient_id>/record/", views.response_create, name="response-create"),
    path("patients/<int:patient_id>/history/", views.questionnaire_history, name="history"),
    path("responses/<int:response_id>/", views.response_detail, name="response-detail"),
    path("responses/<int:response_id>/amend/", views.response_amend, name="response-amend"),
    path("licensed-text/", views.licensed_text, name="licensed-text"),
    path("licensed-text/template/", views.licensed_text_template, name="licensed-text-template"),
    path("safety-thresholds/", views.safety_thresholds, name="safety-thresholds"),
]
