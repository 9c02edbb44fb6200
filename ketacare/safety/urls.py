from django.urls import path

from ketacare.safety import views

app_name = "safety"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:alert_id>/", views.alert_detail, name="detail"),
    path("<int:alert_id>/acknowledge/", views.alert_acknowledge, name="acknowledge"),
]
