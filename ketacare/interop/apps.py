from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "ketacare.interop"
    label = "interop"
    verbose_name = "Interoperability (FHIR R4)"

    def ready(self) -> None:
        import datetime as dt

        from ketacare.accounts.roles import Perm
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.interop.bulk import sweep
        from ketacare.interop.selectors import imported_history
        from ketacare.worker import periodic

        register_panel(ChartPanel(key="imported", title="Records from other systems", template="interop/panel.html",
                                  perm=Perm.CLINICAL_VIEW, order=90,
                                  context=lambda request, patient: imported_history(user=request.user,
                                                                                    patient=patient)))
        periodic.register("interop.bulk_sweep", dt.timedelta(minutes=1), sweep)
