from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ketacare.audit"
    label = "audit"

    def ready(self) -> None:
        from ketacare.accounts.roles import Perm
        from ketacare.core.home import HomeCard, register

        register(HomeCard("Audit trail", "Who opened or changed which record, when and from where.", "audit:list",
                          "Review the audit trail", Perm.AUDIT_VIEW, 70))
