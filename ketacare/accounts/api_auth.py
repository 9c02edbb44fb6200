"""Bearer-token authentication for the JSON API, with the route's permission checked before its input is read.

Tokens are stored as SHA-256 hashes only. Every route names its permission with `auth=api_perm(Perm.X)`; the API's
default auth (no permission named) refuses everything, so a route that forgets is closed, not open. A token expires
(`expires_at`: a clear 401 after it) and has a scope: a "read" token is refused (403) by every route that writes —
every method but GET/HEAD/OPTIONS, unless the route declares `reads=True` (a search or a calculation sent by POST).
"""

import datetime as dt

from ninja.security import HttpBearer

from ketacare.accounts.models import ApiToken, TokenScope
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import DomainError, PermissionDenied

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenExpired(DomainError):
    """This API token has expired."""

    code = "token.expired"
    http_status = 401


class TokenScopeDenied(PermissionDenied):
    """This API token may only read."""

    code = "token.scope"


class TokenAuth(HttpBearer):
    def __init__(self, *perms: Perm, reads: bool = False) -> None:
        super().__init__()
        self.perms = perms
        self.reads = reads

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
        if api_token.expires_at <= now:
            audit_record(actor=user, action=AuditAction.TOKEN_REFUSED, target=api_token, data={"why": "expired"})
            raise TokenExpired(f"This API token ({api_token.prefix}…) expired on {api_token.expires_at:%Y-%m-%d}; "
                               "ask for a new one.")
        if api_token.last_used_at is None or now - api_token.last_used_at > dt.timedelta(minutes=1):
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = user
        # Raised, not returned: ninja maps it to 403 before the request body is parsed, so a role without access
        # learns nothing about the route's input.
        if not self.perms or not all(user.has_perm_to(p) for p in self.perms):
            raise PermissionDenied()
        writes = not self.reads and request.method not in READ_METHODS
        if writes and api_token.scope != TokenScope.READ_WRITE:
            raise TokenScopeDenied("This API token may only read; this request writes. Use a read-write token.")
        return user


def api_perm(*perms: Perm, reads: bool = False) -> TokenAuth:
    """The route's permissions; `reads=True` for a POST that stores nothing (a read-only token may call it)."""
    return TokenAuth(*perms, reads=reads)
