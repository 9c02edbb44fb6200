"""Request id and client address for every request, bound for the audit trail and echoed in X-Request-ID; the client
address and scheme behind a trusted proxy."""

import ipaddress
import re
import uuid

from django.conf import settings

from ketacare.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = context.bind(context.RequestMeta(request_id=request.request_id, ip=request.META.get("REMOTE_ADDR")))
        try:
            response = self.get_response(request)
        finally:
            context.unbind(token)
        response["X-Request-ID"] = request.request_id
        return response


class DomainErrorMiddleware:
    """Turn a DomainError raised by a page into its status page (403/404/409), so views stay free of try/except."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from ketacare.core.errors import DomainError

        if isinstance(exception, DomainError):
            return render(request, "error.html", {"status": exception.http_status, "message": str(exception)},
                          status=exception.http_status)
        return None


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    return address is not None and any(address in net for net in settings.KETACARE_TRUSTED_PROXIES)


class TrustedProxyMiddleware:
    """Believe `X-Forwarded-For` and `X-Forwarded-Proto` only from a proxy in KETACARE_TRUSTED_PROXIES.

    From a trusted proxy, the client is the right-most address in X-Forwarded-For that is not itself a trusted proxy
    (anything to its left was written by the client and proves nothing), and it becomes REMOTE_ADDR, so the audit
    trail and the sign-in throttle see the client, not the proxy. From anyone else both headers are dropped: a client
    cannot claim HTTPS (and HSTS, secure cookies) or another address by sending them itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if _is_trusted(_ip(meta.get("REMOTE_ADDR"))):
            client = meta.get("REMOTE_ADDR")
            for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
                address = _ip(hop)
                if address is None:
                    break  # not an address: what is left of it cannot be believed either
                client = str(address)
                if not _is_trusted(address):
                    break
            meta["KETACARE_PROXY_ADDR"], meta["REMOTE_ADDR"] = meta.get("REMOTE_ADDR"), client
        else:
            meta.pop("HTTP_X_FORWARDED_FOR", None)
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)


# Secrets are compared, never stored or shown: the text rule does not apply to what someone types as a password.
# Usernames have their own rule (accounts/usernames.py: edge invisibles stripped, NFKC, case-folded, then Django's
# username validator), so that every spelling of a name reaches the one account and its sign-in throttle.
_UNCHECKED_FIELDS = ("password", "csrfmiddlewaretoken", "username")


def text_input_refusal(request) -> tuple[str, str] | None:
    """(field, message) for the first form field or query parameter of `request` that breaks the text rule."""
    from ketacare.core.text import text_problem

    sources = [request.GET]
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                              "multipart/form-data"):
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            if any(name in key.lower() for name in _UNCHECKED_FIELDS):
                continue
            problem = text_problem(key, multiline=False)
            if problem:
                return "a field name", problem
            for value in values:
                if problem := text_problem(value):
                    return key, problem
    return None


class TextInputMiddleware:
    """The text rule (core/text.py) for every form post and query string of the pages: a refused character is a 422
    page naming the field, before any view runs, so nothing is stored. (The API applies the same rule in its parser,
    core/schemas.py, and answers JSON.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, args, kwargs):
        from django.shortcuts import render

        if request.path.startswith("/api/"):
            return None
        refused = text_input_refusal(request)
        if refused is None:
            return None
        field, problem = refused
        label = field.replace("_", " ").replace("-", " ").strip().capitalize()
        if request.path.startswith("/fhir/"):
            # FHIR clients get every error as an OperationOutcome, this one too.
            from django.http import JsonResponse

            return JsonResponse({"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "invalid", "diagnostics": f"{label}: {problem}"}]},
                status=400, content_type="application/fhir+json")
        response = render(request, "error.html", {
            "status": 422, "title": "Not saved",
            "message": f"{label}: {problem} Nothing was saved: go back, correct it and send the form again.",
        }, status=422)
        if getattr(request, "htmx", False):
            # htmx swaps nothing on a 4xx by default; show the refusal in place of the page instead of ignoring it.
            response.status_code = 200
            response["HX-Retarget"] = "body"
            response["HX-Reswap"] = "innerHTML"
        return response
