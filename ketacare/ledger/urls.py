from django.urls import path

from ketacare.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.stock, name="stock"),
    path("reports/dispensing", views.dispensing_log, name="dispensing-log"),
    path("sessions/<int:session_id>/draw", views.session_draw, name="session-draw"),
    path("draws/<int:entry_id>/settle", views.draw_settle, name="draw-settle"),
]
