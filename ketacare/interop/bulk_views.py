"""FHIR Bulk Data `$export` endpoints (Bulk Data Access IG 2.0; docs/domain/fhir-mapping.md §5).

    GET    /fhir/R4/$export | /fhir/R4/Patient/$export | /fhir/R4/Group/<id>/$export   (Prefer: respond-async)
           → 202, Content-Location: the status URL
    GET    /fhir/R4/bulkstatus/<id>   → 202 + X-Progress + Retry-After while running; 200 + manifest when complete
    DELETE /fhir/R4/bulkstatus/<id>   → 202; the files are removed
    GET    /fhir/R4/bulkfiles/<id>/<Type>-<n>.ndjson → application/fhir+ndjson

Authorised as the read API is (bearer token or session), with the bulk-export permission; status and files belong
to the user who kicked the export off (anyone else gets 404, as absent). Errors are OperationOutcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_http_methods

from ketacare.core import clock
from ketacare.core.errors import NotFound, PermissionDenied
from ketacare.interop import bulk
from ketacare.interop.domain import resources as r
from ketacare.interop.models import BulkExport
from ketacare.interop.views import FhirError, _base, _respond, _user

KICK_OFF_PARAMS = {"_outputFormat", "_since", "_type"}
RETRY_AFTER_SECONDS = 5


def _outcome(status: int, code: str, diagnostics: str, severity: str = "error") -> HttpResponse:
    return _respond(r.operation_outcome(code, diagnostics, severity), status)


def bulk_view(methods: list[str]) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @require_http_methods(methods)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                return view(request, *args, **kwargs)
            except FhirError as exc:
                return _outcome(exc.status, exc.code, exc.diagnostics)
            except bulk.BulkError as exc:
                return _outcome(400, "invalid", str(exc))
            except PermissionDenied:
                return _outcome(403, "forbidden", "Your role may not export the clinic's records.")
            except NotFound:
                return _outcome(404, "not-found", "No such resource.")

        wrapper.__name__ = view.__name__
        return wrapper

    return decorate


def _kick_off(request: HttpRequest, level: str, group_id: str = "") -> HttpResponse:
    user = _user(request, *bulk.PERMS)
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise bulk.BulkError("a Bulk Data kick-off needs the header Prefer: respond-async")
    accept = request.headers.get("Accept", "application/fhir+json")
    if not any(kind in accept for kind in ("application/fhir+json", "application/json", "*/*")):
        raise bulk.BulkError("a Bulk Data kick-off answers in application/fhir+json (Accept)")
    for name in request.GET:
        if name not in KICK_OFF_PARAMS:
            raise bulk.BulkError(f"the parameter {name!r} is not supported here "
                                 f"(supported: {', '.join(sorted(KICK_OFF_PARAMS))})")
        if len(request.GET.getlist(name)) > 1:
            raise bulk.BulkError(f"{name} may be given once")
    output = request.GET.get("_outputFormat", bulk.OUTPUT_FORMATS[0])
    if output not in bulk.OUTPUT_FORMATS:
        raise bulk.BulkError(f"_outputFormat: only NDJSON is written ({', '.join(bulk.OUTPUT_FORMATS)})")
    export = bulk.kick_off(user=user, level=level, group_id=group_id, request_url=request.build_absolute_uri(),
                           types=bulk.parse_types(request.GET.get("_type"), level),
                           since=bulk.parse_since(request.GET.get("_since"), clock.now()))
    response = _outcome(202, "informational", "Export accepted: poll the Content-Location URL.", "information")
    response["Content-Location"] = f"{_base(request)}/bulkstatus/{export.public_id}"
    return response


@bulk_view(["GET"])
def export_system(request: HttpRequest) -> HttpResponse:
    return _kick_off(request, "system")


@bulk_view(["GET"])
def export_patients(request: HttpRequest) -> HttpResponse:
    return _kick_off(request, "patient")


@bulk_view(["GET"])
def export_group(request: HttpRequest, group_id: str) -> HttpResponse:
    return _kick_off(request, "group", group_id)


@bulk_view(["GET", "DELETE"])
def status(request: HttpRequest, public_id: str) -> HttpResponse:
    user = _user(request, *bulk.PERMS)
    if request.method == "DELETE":
        bulk.delete(user=user, public_id=public_id)
        return _outcome(202, "informational", "Export deleted.", "information")
    export = bulk.status_of(user=user, public_id=public_id)
    if export.status == BulkExport.Status.COMPLETE:
        response = _respond(bulk.manifest(export, _base(request)))
        response["Expires"] = export.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response
    if export.status == BulkExport.Status.FAILED:
        return _outcome(500, "exception", f"The export failed ({export.error}); kick it off again.")
    response = HttpResponse(status=202)
    response["X-Progress"] = bulk.progress(export)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@bulk_view(["GET"])
def download(request: HttpRequest, public_id: str, name: str) -> HttpResponseBase:
    user = _user(request, *bulk.PERMS)
    _export, _file, path = bulk.file_of(user=user, public_id=public_id, name=name)
    response = FileResponse(path.open("rb"), content_type="application/fhir+ndjson")
    response["Cache-Control"] = "no-store"
    return response
