from django.urls import path

from ketacare.portal import views

app_name = "portal"

# Mounted at /p/ (the patient's pages) by config/urls.py; staff pages in staff_urls.
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("questionnaire/", views.questionnaire, name="questionnaire"),
    path("done/", views.done, name="done"),
    path("language/", views.language, name="language"),
    path("<str:token>/", views.link_open, name="open"),
]
