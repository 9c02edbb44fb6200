"""Django's model backend, reading the signed-in user together with their clinic (every page shows the clinic's
name: one query instead of two on every request)."""

from typing import Any

from django.contrib.auth.backends import ModelBackend


class ClinicUserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        from ketacare.accounts.models import User

        user = User._default_manager.select_related("clinic").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
