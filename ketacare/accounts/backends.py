"""Django's model backend, reading the signed-in user together with their clinic (every page shows the clinic's
name: one query instead of two on every request), and looking the username up in its one normalised spelling."""

from typing import Any

from django.contrib.auth.backends import ModelBackend

from ketacare.accounts.usernames import normalize_username


class ClinicUserBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if username is not None:
            username = normalize_username(username)
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        from ketacare.accounts.models import User

        user = User._default_manager.select_related("clinic").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
