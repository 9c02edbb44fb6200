"""Staff accounts and API tokens."""

import secrets

from django.db import transaction

from ketacare.accounts.models import ApiToken, User
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock

TOKEN_PREFIX = "kc_"


@transaction.atomic
def token_create(*, user: User, name: str = "cli", actor: User | None = None) -> str:
    """Create a bearer token for `user` and return it; only its hash is kept, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken.objects.create(user=user, name=name[:80], prefix=token[:10], key_hash=ApiToken.hash(token),
                                        created_at=clock.now())
    audit_record(actor=actor or user, action=AuditAction.TOKEN_CREATED, target=api_token, data={"name": name[:80]})
    return token


@transaction.atomic
def token_revoke(*, api_token: ApiToken, actor: User) -> None:
    ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(revoked_at=clock.now())
    audit_record(actor=actor, action=AuditAction.TOKEN_REVOKED, target=api_token)
