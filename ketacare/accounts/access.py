"""Enforcement of roles/permissions for pages and API operations.

Every view declares the permission it needs with `@requires(Perm.X)` or is explicitly public with `@public`;
`accounts.middleware.LoginRequiredMiddleware` refuses any page that declares neither (fail closed).
"""

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required

from ketacare.accounts.roles import Perm
from ketacare.core.errors import PermissionDenied


def requires(*perms: Perm) -> Callable:
    """Mark a page view as needing every one of `perms` (API routes use `api_perm`)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not all(request.user.has_perm_to(p) for p in perms):
                raise PermissionDenied()
            return view(request, *args, **kwargs)

        wrapper.required_perms = perms  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone (login page, health check)."""
    view = login_not_required(view)
    view.required_perms = ()  # type: ignore[attr-defined]
    view.is_public = True  # type: ignore[attr-defined]
    return view


def require(actor, perm: Perm, message: str = "") -> None:
    """A service's first line: refuse (403) unless the actor's role holds `perm` (and the actor is active)."""
    if not actor.has_perm_to(perm):
        raise PermissionDenied(message) if message else PermissionDenied()


def require_same_clinic(actor, row, not_found: type[Exception]) -> None:
    """Refuse a row of another clinic as `not_found` (404): another clinic's record must look like a missing one."""
    if actor.clinic_id != row.clinic_id:
        raise not_found()
