from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "ketacare.outcomes"
    label = "outcomes"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core.home import HomeCard
        from ketacare.core.home import register as register_card
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.instruments.panels import register_baseline_changes
        from ketacare.outcomes.panels import panel_context
        from ketacare.outcomes.selectors import chart_baseline_changes

        register_baseline_changes(chart_baseline_changes)
        from ketacare.core.policy import PolicyValue
        from ketacare.core.policy import register as register_policy

        register_policy(PolicyValue("outcomes.relapse", "Relapse definition (per instrument)",
                                    "2 consecutive measurements meeting the criterion", "outcomes:settings",
                                    "iv-ketamine.md §2; evidence.md §5", order=40))

        register_panel(ChartPanel(key="outcomes", title="Outcomes", template="outcomes/panel.html",
                                  perm=Perm.CLINICAL_VIEW, order=35, context=panel_context))
        register(NavItem("Outcomes", "outcomes:report", Perm.CLINICAL_VIEW))
        register(NavItem("Research", "outcomes:research", Perm.RESEARCH_VIEW))
        register(NavItem("Outcome definitions", "outcomes:settings", Perm.CLINIC_CONFIGURE))
        register_card(HomeCard("Clinic outcomes", "Response, remission, time to relapse, side effects and alerts for "
                               "your patients, with CSV and PDF exports.", "outcomes:report", "Open outcomes",
                               Perm.CLINICAL_VIEW, 50))
        register_card(HomeCard("Research", "De-identified response, remission, relapse and the clinic's patients "
                               "by age and sex; small groups are hidden.", "outcomes:research",
                               "Open de-identified outcomes", Perm.RESEARCH_VIEW, 55))
        register_card(HomeCard("Outcome definitions", "What counts as response, remission and relapse in your clinic.",
                               "outcomes:settings", "Review definitions", Perm.CLINIC_CONFIGURE, 85))
