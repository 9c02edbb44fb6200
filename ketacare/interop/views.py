"""The FHIR R4 read API under /fhir/R4/: `metadata`, read (`GET [type]/[id]`) and search (`GET [type]?...`).

The same rules as the rest of KetaCare: a bearer token (the API's) or a signed-in session; Patient needs
`patient.view`, every clinical resource `patient.view` and `clinical.view` (so researchers, auditors and the front
desk read no clinical data); another clinic's patient is 404, as absent; every read of patient data writes an
audit event per patient. Every error is an OperationOutcome. Searches are strict: a parameter KetaCare does not
serve is refused with 400 naming it, rather than silently ignored.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ketacare.accounts.api_auth import TokenAuth, TokenExpired
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import NotFound, PermissionDenied
from ketacare.interop import selectors
from ketacare.interop.domain import resources as r
from ketacare.interop.domain import search as s

FHIR_JSON = "application/fhir+json; charset=utf-8"
FHIR_VERSION = "4.0.1"
CLINICAL_TYPES = tuple(selectors.PATIENT_COMPARTMENT)
ALL_TYPES = ("Patient", *CLINICAL_TYPES, "Questionnaire")
COMMON_PARAMS = {"_count", "_offset", "_include", "_format"}
PATIENT_PARAMS = {"_id", "identifier", "name", "_lastUpdated"}
CLINICAL_PARAMS = {"patient", "subject", "date", "_lastUpdated", "code", "category", "status"}
QUESTIONNAIRE_PARAMS = {"_id", "url"}


class FhirError(Exception):
    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


def _respond(body: dict[str, Any], status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                            content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    return response


def fhir_view(view: Callable[..., dict[str, Any]]) -> Callable[..., HttpResponse]:
    """GET only; the caller authenticated; FhirError, DomainError and bad input become OperationOutcomes."""

    @require_GET
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return _respond(view(request, *args, **kwargs))
        except FhirError as exc:
            return _respond(r.operation_outcome(exc.code, exc.diagnostics), exc.status)
        except s.SearchError as exc:
            return _respond(r.operation_outcome("invalid", str(exc)), 400)
        except PermissionDenied:
            return _respond(r.operation_outcome("forbidden", "Your role may not read this resource."), 403)
        except NotFound:
            return _respond(r.operation_outcome("not-found", "No such resource."), 404)

    # Sign-in is checked here, not by the login middleware (which skips /fhir/ as it skips /api/): FHIR clients
    # get 401 as an OperationOutcome, not a redirect to the sign-in page.
    wrapper.required_perms = (Perm.PATIENT_VIEW,)  # type: ignore[attr-defined]
    wrapper.__name__ = view.__name__
    return wrapper


def _user(request: HttpRequest, *perms: Perm) -> Any:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            user = TokenAuth(*perms).authenticate(request, header.removeprefix("Bearer ").strip())
        except TokenExpired as exc:
            raise FhirError(401, "expired", str(exc)) from None
        if user is None:
            raise FhirError(401, "login", "The bearer token is not valid.")
        return user
    if header:
        raise FhirError(401, "login", "Use a bearer token (Authorization: Bearer ...).")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise FhirError(401, "login", "Sign in or send a bearer token.")
    if not all(user.has_perm_to(p) for p in perms):
        raise PermissionDenied()
    return user


def _perms_for(resource_type: str) -> tuple[Perm, ...]:
    if resource_type == "Patient":
        return (Perm.PATIENT_VIEW,)
    if resource_type in CLINICAL_TYPES:
        return (Perm.PATIENT_VIEW, Perm.CLINICAL_VIEW)
    if resource_type == "Questionnaire":
        return (Perm.HOME,)
    raise FhirError(404, "not-supported", f"KetaCare serves no {resource_type!r} resources "
                                          f"(served: {', '.join(ALL_TYPES)}).")


def _audit(user: Any, patient_ids: list[int], resource_type: str, interaction: str, count: int) -> None:
    for patient_id in patient_ids:
        audit_record(actor=user, action=AuditAction.FHIR_READ, patient_id=patient_id, clinic_id=user.clinic_id,
                     data={"type": resource_type, "interaction": interaction, "count": count})


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/R4").rstrip("/")


# ---- metadata -------------------------------------------------------------------------------------------------

@fhir_view
def metadata(request: HttpRequest) -> dict[str, Any]:
    """The CapabilityStatement: public, as FHIR requires, and free of patient data."""
    def params(names: set[str]) -> list[dict[str, str]]:
        kinds = {"date": "date", "_lastUpdated": "date", "patient": "reference", "subject": "reference",
                 "code": "token", "category": "token", "status": "token", "identifier": "token", "_id": "token",
                 "name": "string", "url": "uri"}
        return [{"name": n, "type": kinds[n]} for n in sorted(names)]

    resources = [{"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}],
                  "searchParam": params(PATIENT_PARAMS)}]
    resources += [{"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
                   "searchParam": params(CLINICAL_PARAMS - {"subject"}), "searchInclude": [f"{t}:patient"]}
                  for t in CLINICAL_TYPES]
    resources.append({"type": "Questionnaire", "interaction": [{"code": "read"}, {"code": "search-type"}],
                      "searchParam": params(QUESTIONNAIRE_PARAMS)})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": r.instant(clock.now()),
        "publisher": "KetaCare",
        "kind": "instance",
        "software": {"name": "KetaCare"},
        "implementation": {"description": "KetaCare FHIR R4 read API", "url": _base(request)},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{"mode": "server",
                  "security": {"description": "Bearer token (KetaCare API token) or a signed-in session."},
                  "resource": resources}],
    }


# ---- read -----------------------------------------------------------------------------------------------------

def _patient_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise FhirError(404, "not-found", "No such resource.")
    return int(text)


@fhir_view
def read(request: HttpRequest, resource_type: str, ident: str) -> dict[str, Any]:
    user = _user(request, *_perms_for(resource_type))
    if resource_type == "Questionnaire":
        found = [q for q in selectors.questionnaires() if q["id"] == ident]
        if not found:
            raise FhirError(404, "not-found", "No such resource.")
        return found[0]
    if resource_type == "Patient":
        patient = selectors.patient_for(user=user, patient_id=_patient_id(ident))
        _audit(user, [patient.pk], "Patient", "read", 1)
        return selectors.patient_resource(patient)
    # A clinical resource's id does not name its patient: find it among the user's clinic's records by its
    # source row, then check it is the clinic's through the patient.
    patient = _owner_of(user, resource_type, ident)
    for resource in selectors.PATIENT_COMPARTMENT[resource_type](user=user, patient=patient):
        if resource["id"] == ident:
            _audit(user, [patient.pk], resource_type, "read", 1)
            return resource
    raise FhirError(404, "not-found", "No such resource.")


def _owner_of(user: Any, resource_type: str, ident: str) -> Any:
    """The patient a clinical resource belongs to, or 404 (absent, malformed or another clinic's alike)."""
    patient_id = selectors.patient_of(user=user, resource_type=resource_type, ident=ident)
    if patient_id is None:
        raise FhirError(404, "not-found", "No such resource.")
    return selectors.patient_for(user=user, patient_id=patient_id)


# ---- search ---------------------------------------------------------------------------------------------------

def _params(request: HttpRequest, allowed: set[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, values in request.GET.lists():
        base = name.split(":", 1)[0]
        if base not in allowed | COMMON_PARAMS:
            raise s.SearchError(f"the search parameter {name!r} is not supported here "
                                f"(supported: {', '.join(sorted(allowed | COMMON_PARAMS))})")
        if ":" in name:
            raise s.SearchError(f"search modifiers are not supported ({name!r})")
        params[name] = values
    if params.get("_format", ["json"])[0] not in ("json", "application/fhir+json", "application/json"):
        raise s.SearchError("only JSON is served (_format=json)")
    return params


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise s.SearchError(f"{name} may be given once")
    return values[0]


def _page_links(request: HttpRequest, offset: int, count: int, total: int) -> tuple[str, str | None]:
    query = [(k, v) for k, vs in request.GET.lists() for v in vs if k != "_offset"]
    path = request.build_absolute_uri(request.path)
    self_url = f"{path}?{urllib.parse.urlencode(query + [('_offset', str(offset))])}"
    if offset + count >= total:
        return self_url, None
    return self_url, f"{path}?{urllib.parse.urlencode(query + [('_offset', str(offset + count))])}"


@fhir_view
def search(request: HttpRequest, resource_type: str) -> dict[str, Any]:
    user = _user(request, *_perms_for(resource_type))
    if resource_type == "Patient":
        return _search_patients(request, user)
    if resource_type == "Questionnaire":
        params = _params(request, QUESTIONNAIRE_PARAMS)
        found = selectors.questionnaires()
        if (ident := _one(params, "_id")) is not None:
            found = [q for q in found if q["id"] == ident]
        if (url := _one(params, "url")) is not None:
            found = [q for q in found if q.get("url") == url.split("|")[0]]
        return _bundle(request, found, params)
    params = _params(request, CLINICAL_PARAMS)
    reference = _one(params, "patient") or _one(params, "subject")
    if reference is None:
        raise s.SearchError(f"{resource_type} searches need patient=<id> (one patient's record; use Bulk Data "
                            "export for many)")
    patient = selectors.patient_for(user=user, patient_id=_patient_id(reference.removeprefix("Patient/")))
    found = selectors.PATIENT_COMPARTMENT[resource_type](user=user, patient=patient)
    found = [x for x in found if x["status"] != "entered-in-error"] if not params.get("status") else found
    tz = timezone.get_current_timezone()
    if dates := params.get("date"):
        keep = s.date_filter("date", [s.parse_date("date", d, tz) for d in dates], s.clinical_time)
        found = [x for x in found if keep(x)]
    if updated := params.get("_lastUpdated"):
        keep = s.date_filter("_lastUpdated", [s.parse_date("_lastUpdated", d, tz) for d in updated],
                             lambda x: x.get("meta", {}).get("lastUpdated"))
        found = [x for x in found if keep(x)]
    for name, element in (("code", "code"), ("category", "category")):
        if (text := _one(params, name)) is not None:
            tokens = s.parse_tokens(name, text)
            found = [x for x in found if any(t.matches(s.codings(x, element)) for t in tokens)]
    if (status := _one(params, "status")) is not None:
        found = [x for x in found if x.get("status") in status.split(",")]
    found.sort(key=lambda x: (s.clinical_time(x) is None, s.clinical_time(x) or "", x["id"]))  # undated last
    include = [selectors.patient_resource(patient)] if _includes_patient(params, resource_type) else []
    bundle = _bundle(request, found, params, include)
    _audit(user, [patient.pk], resource_type, "search", len(bundle["entry"]))
    return bundle


def _includes_patient(params: dict[str, list[str]], resource_type: str) -> bool:
    wanted = params.get("_include", [])
    for value in wanted:
        if value not in (f"{resource_type}:patient", f"{resource_type}:subject", "*"):
            raise s.SearchError(f"_include={value!r} is not supported (use {resource_type}:patient)")
    return bool(wanted)


def _bundle(request: HttpRequest, found: list[dict[str, Any]], params: dict[str, list[str]],
            include: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    count, offset = s.parse_count(_one(params, "_count")), s.parse_offset(_one(params, "_offset"))
    self_url, next_url = _page_links(request, offset, count, len(found))
    page = r.Page(found[offset:offset + count], len(found), self_url, next_url, include or ())
    return r.searchset(page, _base(request))


def _updated_lookup(f: s.DateFilter) -> dict[str, Any]:
    """The date filter as ORM lookups on the patient's `updated_at` (the same ranges as DateFilter.accepts)."""
    return {"eq": {"updated_at__gte": f.start, "updated_at__lt": f.end}, "gt": {"updated_at__gte": f.end},
            "ge": {"updated_at__gte": f.start}, "lt": {"updated_at__lt": f.start},
            "le": {"updated_at__lt": f.end}}[f.prefix]


def _search_patients(request: HttpRequest, user: Any) -> dict[str, Any]:
    params = _params(request, PATIENT_PARAMS)
    ids = None
    if (text := _one(params, "_id")) is not None:
        ids = [int(i) for i in text.split(",") if i.isdigit() and len(i) <= 18]
    query = " ".join(filter(None, [_one(params, "name"), (_one(params, "identifier") or "").rpartition("|")[2]]))
    found = selectors.patients_for(user=user, query=query, ids=ids)
    tz = timezone.get_current_timezone()
    for text in params.get("_lastUpdated", []):
        found = found.filter(**_updated_lookup(s.parse_date("_lastUpdated", text, tz)))
    count, offset = s.parse_count(_one(params, "_count")), s.parse_offset(_one(params, "_offset"))
    total = found.count()
    page_rows = list(found[offset:offset + count])
    self_url, next_url = _page_links(request, offset, count, total)
    bundle = r.searchset(r.Page([selectors.patient_resource(p) for p in page_rows], total, self_url, next_url),
                         _base(request))
    _audit(user, [p.pk for p in page_rows], "Patient", "search", len(page_rows))
    return bundle
