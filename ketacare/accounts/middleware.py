"""Sign-in required everywhere except public views, the API and the FHIR API (which answer 401 themselves); the
second sign-in step before any page; no caching of what a signed-in user is shown."""

import logging
import time

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

log = logging.getLogger(__name__)


UNGUARDED_PREFIXES = ("/api/", "/fhir/", "/static/")  # the API and FHIR answer 401 themselves (bearer tokens)


class LoginRequiredMiddleware(DjangoLoginRequired):
    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request"):
            # An htmx fragment must not swap the sign-in page into part of a page: send the whole page there.
            from django.shortcuts import resolve_url

            return HttpResponse(status=200, headers={"HX-Redirect": resolve_url(self.get_login_url(view_func))})
        return super().handle_no_permission(request, view_func)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(UNGUARDED_PREFIXES):
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


def second_factor_step(view):
    """Mark a view as reachable before the second sign-in step is done (the step itself, sign-out)."""
    view.second_factor_step = True
    return view


class SecondFactorMiddleware:
    """A signed-in browser session reaches no page until its second factor is verified, or, when one is required and
    the user has none, until they have enrolled one (accounts/mfa.py). Public pages, the steps themselves and
    sign-out stay reachable; the API and FHIR use bearer tokens, created by a verified user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from ketacare.accounts import mfa

        if request.path_info.startswith(UNGUARDED_PREFIXES) or not request.user.is_authenticated:
            return None
        if getattr(view_func, "is_public", False) or getattr(view_func, "second_factor_step", False):
            request.mfa_pending = mfa.next_step(request) is not None  # the page shows no menu or banners then
            return None
        step = mfa.next_step(request)
        if step is None:
            return None
        target = reverse("accounts:mfa-verify" if step == mfa.VERIFY else "accounts:mfa-setup")
        if request.headers.get("HX-Request"):
            return HttpResponse(status=200, headers={"HX-Redirect": target})
        return redirect(target)


class NoStoreWhenSignedInMiddleware:
    """Every response to a signed-in user (pages, fragments, API and FHIR answers) carries `Cache-Control: no-store`:
    patient data must not stay in a browser's or a proxy's cache (privacy.md §1)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path_info.startswith("/static/"):
            add_never_cache_headers(response)
        return response
