from django.urls import path

from ketacare.safety import views

app_name = "safety"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:alert_id>/", views.alert_detail, name="detail"),
    path("<int:alert_id>/acknowledge/", views.alert_acknowledge, name="acknowledge"),
    path("on-call/", views.oncall, name="oncall"),
    path("on-call/shifts/", views.oncall_shift_add, name="oncall-shift-add"),
    path("on-call/shifts/<int:shift_id>/remove/", views.oncall_shift_remove, name="oncall-shift-remove"),
    path("on-call/policy/", views.oncall_settings, name="oncall-settings"),
    path("on-call/contacts/", views.oncall_contact, name="oncall-contact"),
]
