"""Sign-in required everywhere except public views and the API (which answers 401 itself)."""

import logging

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

log = logging.getLogger(__name__)


class LoginRequiredMiddleware(DjangoLoginRequired):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/") or request.path_info.startswith("/static/"):
            return None
        response = super().process_view(request, view_func, view_args, view_kwargs)
        if response is not None:
            return response
        if getattr(view_func, "is_public", False):
            return None
        if getattr(view_func, "required_perms", None) is None:
            # Fail closed: a page that forgot to declare its permission is unreachable, not open.
            log.error("view %s declares no permission; refusing", getattr(view_func, "__name__", view_func))
            raise DjangoPermissionDenied
        return None
