from django.urls import path

from ketacare.interop import bulk_views, views

app_name = "interop"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    # Bulk Data $export (before the read routes, which would take "Patient/$export" as a read of an id)
    path("$export", bulk_views.export_system, name="export-system"),
    path("Patient/$export", bulk_views.export_patients, name="export-patients"),
    path("Group/<str:group_id>/$export", bulk_views.export_group, name="export-group"),
    path("bulkstatus/<str:public_id>", bulk_views.status, name="export-status"),
    path("bulkfiles/<str:public_id>/<str:name>", bulk_views.download, name="export-file"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:ident>", views.read, name="read"),
]
