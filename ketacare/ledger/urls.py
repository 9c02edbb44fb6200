from django.urls import path

from ketacare.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.stock, name="stock"),
    path("reports/dispensing", views.dispensing_log, name="dispensing-log"),
    path("setup", views.setup, name="setup"),
    path("receive", views.receive, name="receive"),
    path("locations/<int:location_id>/count", views.count, name="count"),
    path("discrepancies", views.discrepancies, name="discrepancies"),
    path("discrepancies/<int:discrepancy_id>", views.discrepancy_act, name="discrepancy-act"),
    path("signals", views.signals, name="signals"),
    path("movements", views.movements, name="movements"),
    path("settings", views.settings_page, name="settings"),
    *[path(f"reports/{name}", views.report, {"name": name}, name=f"report-{name}")
      for name in ("inventory", "discrepancies", "destruction", "losses")],
    path("sessions/<int:session_id>/draw", views.session_draw, name="session-draw"),
    path("draws/<int:entry_id>/settle", views.draw_settle, name="draw-settle"),
]
