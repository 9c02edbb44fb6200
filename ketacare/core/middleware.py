"""Request id and client address for every request, bound for the audit trail and echoed in X-Request-ID."""

import re
import uuid

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
