"""Bearer-token authentication for the JSON API, with the route's permission checked before its input is read.

Tokens are stored as SHA-256 hashes only. Every route names its permission with `auth=api_perm(Perm.X)`; the API's
default auth (no permission named) refuses everything, so a route that forgets is closed, not open.
"""

import datetime as dt

from ninja.security import HttpBearer

from ketacare.accounts.models import ApiToken
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.errors import PermissionDenied


class TokenAuth(HttpBearer):
    def __init__(self, *perms: Perm) -> None:
        super().__init__()
        self.perms = perms

    def authenticate(self, request, token: str):
        try:
            api_token = ApiToken.objects.select_related("user", "user__clinic").get(
                key_hash=ApiToken.hash(token), revoked_at__isnull=True)
        except ApiToken.DoesNotExist:
            return None
        user = api_token.user
        if not user.is_active:
            return None
        now = clock.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > dt.timedelta(minutes=1):
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = user
        # Raised, not returned: ninja maps it to 403 before the request body is parsed, so a role without access
        # learns nothing about the route's input.
        if not self.perms or not all(user.has_perm_to(p) for p in self.perms):
            raise PermissionDenied()
        return user


def api_perm(*perms: Perm) -> TokenAuth:
    return TokenAuth(*perms)
