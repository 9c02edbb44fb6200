from django.urls import path

from ketacare.portal import views

app_name = "portal-staff"

urlpatterns = [
    path("adherence/", views.adherence, name="adherence"),
    path("patients/<int:patient_id>/contact/", views.contact_edit, name="contact-edit"),
]
