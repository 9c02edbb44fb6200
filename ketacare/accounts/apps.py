from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ketacare.accounts"
    label = "accounts"

    def ready(self) -> None:
        from ketacare.accounts.roles import Perm
        from ketacare.core.home import HomeCard, register

        register(HomeCard("Staff", "Add colleagues, change roles, deactivate accounts.", "accounts:staff",
                          "Manage staff", Perm.STAFF_MANAGE, 80))
