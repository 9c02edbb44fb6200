from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "ketacare.screening"
    label = "screening"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.screening.views import eligibility_panel

        register_panel(ChartPanel(key="eligibility", title="Eligibility", template="screening/panel_eligibility.html",
                                  perm=Perm.CLINICAL_VIEW, order=20, context=eligibility_panel))
        register(NavItem("Consent documents", "screening:consent-documents", Perm.CLINIC_CONFIGURE))
        register(NavItem("Screening thresholds", "screening:eligibility-settings", Perm.CLINIC_CONFIGURE))
        from ketacare.screening.policy import register_placeholders

        register_placeholders()
