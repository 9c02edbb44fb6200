from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Between visits: schedules anchored to treatment, secure links and the patient's own pages."""

    name = "ketacare.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.portal import hooks
        from ketacare.portal.panels import panel_context

        register_panel(ChartPanel(key="portal", title="Between visits", template="portal/panel.html",
                                  perm=Perm.PATIENT_VIEW, order=35, context=panel_context))
        register(NavItem("Home questionnaires", "portal-staff:adherence", Perm.CLINICAL_VIEW), before="audit:list")
        hooks.connect()
