from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "ketacare.treatment"
    label = "treatment"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core import banners
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.treatment.panels import overdue_rems_banner, panel_context

        register_panel(ChartPanel(key="treatment", title="Treatment courses", template="treatment/panel.html",
                                  perm=Perm.CLINICAL_VIEW, order=25, context=panel_context))
        register(NavItem("Floor board", "treatment:board", Perm.CLINICAL_VIEW), before="audit:list")
        from ketacare.core.home import HomeCard
        from ketacare.core.home import register as home_card

        home_card(HomeCard("Floor board", "Everyone in clinic today: state, observation clock, vitals due, alerts.",
                           "treatment:board", "Open the floor board", Perm.CLINICAL_VIEW, 10))
        home_card(HomeCard("REMS forms", "Patient Monitoring Forms pending, due soon or overdue.",
                           "treatment:rems-board", "Review REMS forms", Perm.CLINICAL_VIEW, 40))
        register(NavItem("REMS forms", "treatment:rems-board", Perm.CLINICAL_VIEW), before="audit:list")
        register(NavItem("Protocols", "treatment:protocols", Perm.CLINIC_CONFIGURE))
        banners.register(overdue_rems_banner)
        from ketacare.treatment.models import PatientMonitoringForm

        banners.invalidate_on_change("treatment.overdue_rems", PatientMonitoringForm)
        import datetime as dt

        from ketacare.treatment.services import vitals_overdue_check_all
        from ketacare.worker.periodic import register as periodic

        # Vitals are scheduled minutes apart (iv-ketamine.md §6): checking every minute raises a missed reading
        # within a minute of its grace period ending, whether or not a floor board is open.
        periodic("treatment.vitals_overdue", dt.timedelta(minutes=1), vitals_overdue_check_all)
