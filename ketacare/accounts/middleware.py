"""Sign-in required everywhere except public views, the API and the FHIR API (which answer 401 themselves)."""

import logging
import time

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

log = logging.getLogger(__name__)


class LoginRequiredMiddleware(DjangoLoginRequired):
    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request"):
            # An htmx fragment must not swap the sign-in page into part of a page: send the whole page there.
            from django.http import HttpResponse
            from django.shortcuts import resolve_url

            return HttpResponse(status=200, headers={"HX-Redirect": resolve_url(self.get_login_url(view_func))})
        return super().handle_no_permission(request, view_func)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(("/api/", "/fhir/", "/static/")):  # the API and FHIR answer 401 themselves
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


POLL_HEADER = "X-KetaCare-Poll"


class IdleTimeoutMiddleware:
    """Slide the session's expiry on real activity only: self-refreshing parts of a page (sent with the
    X-KetaCare-Poll header) must not keep an unattended screen signed in (automatic logoff, privacy.md §1).

    The session row is written at most once per refresh interval (a minute, or a quarter of a shorter limit), not on
    every request: the session then ends up to one interval *earlier* than the limit after the last activity, never
    later.
    """

    WRITTEN_AT = "_kc_written_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key and POLL_HEADER not in request.headers:
            now = int(time.time())
            interval = min(60, settings.SESSION_COOKIE_AGE // 4)
            if session.modified or now - int(session.get(self.WRITTEN_AT, 0)) >= interval:
                session[self.WRITTEN_AT] = now  # sets `modified`: the row and its expiry are written
        return response
