from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "ketacare.safety"
    label = "safety"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core import banners
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.safety.banners import open_high_alerts
        from ketacare.safety.sources import register_source
        from ketacare.safety.views import alerts_panel_context

        register(NavItem("Alerts", "safety:list", Perm.CLINICAL_VIEW), before="audit:list")
        from ketacare.core.home import HomeCard
        from ketacare.core.home import register as home_card

        home_card(HomeCard("Safety alerts", "Open alerts wait for a named clinician to acknowledge them with the "
                           "action taken.", "safety:list", "Review alerts", Perm.CLINICAL_VIEW, 15))
        register_panel(ChartPanel(key="alerts", title="Safety alerts", template="safety/panel.html",
                                  perm=Perm.CLINICAL_VIEW, order=10, context=alerts_panel_context))
        banners.register(open_high_alerts)
        from ketacare.safety.models import Alert

        banners.invalidate_on_change("safety.open_high_alerts", Alert)
        import datetime as dt

        from ketacare.safety.services import alerts_escalate
        from ketacare.worker.periodic import register as periodic

        register(NavItem("On call", "safety:oncall", Perm.CLINIC_CONFIGURE))
        # Escalation delays are minutes (safety/domain/oncall.py): a pass every 30 s escalates within 30 s of the
        # due time.
        periodic("safety.escalate", dt.timedelta(seconds=30), alerts_escalate)
        register_source("questionnaire_response", "instruments:response-detail", "response_id",
                        "Questionnaire response")
