from django.urls import path

from ketacare.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.outbox, name="outbox"),
]
