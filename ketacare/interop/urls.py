from django.urls import path

from ketacare.interop import views

app_name = "interop"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:ident>", views.read, name="read"),
]
