"""The JSON API at /api/v1/: bearer-token auth, errors mapped once, OpenAPI at /api/v1/openapi.json."""

from django.core.exceptions import RequestDataTooBig, ValidationError
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as SchemaError

from ketacare.accounts.api_auth import TokenAuth
from ketacare.core.errors import DomainError
from ketacare.core.schemas import BodyRefused, JsonBodyParser, body_too_big_payload

api = NinjaAPI(title="KetaCare API", version="1", urls_namespace="api", auth=TokenAuth(), docs_url=None,
               parser=JsonBodyParser())


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    return api.create_response(request, {"code": exc.code, "detail": str(exc), **exc.details},
                               status=exc.http_status)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    """Model validation failures, in the same shape as ninja's own 422 (a list of {loc, msg, type})."""
    if hasattr(exc, "error_dict"):
        detail = [{"loc": ["body", field], "msg": str(message), "type": "value_error"}
                  for field, messages in exc.message_dict.items() for message in messages]
    else:
        detail = [{"loc": ["body"], "msg": str(m), "type": "value_error"} for m in exc.messages]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(SchemaError)
def schema_error(request, exc: SchemaError):
    """ninja's own 422, with the field's path as the services give it: ["body", "field", ...] (no "payload")."""
    detail = []
    for error in exc.errors:
        loc = list(error.get("loc", ()))
        if loc[:2] == ["body", "payload"]:
            loc = ["body", *loc[2:]]
        detail.append({**error, "loc": loc})
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(RequestDataTooBig)
def body_too_big(request, exc: RequestDataTooBig):
    return api.create_response(request, body_too_big_payload(), status=413)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    """ninja wraps whatever the body parser raises in a bare 400; a body the parser refused says why, as JSON."""
    refused = exc if isinstance(exc, BodyRefused) else exc.__cause__
    if isinstance(refused, BodyRefused):
        return api.create_response(request, refused.payload, status=refused.status_code)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


def _register_routers() -> None:
    from ketacare.instruments.api import router as instruments
    from ketacare.outcomes.api import router as outcomes
    from ketacare.patients.api import router as patients
    from ketacare.safety.api import router as safety
    from ketacare.screening.api import router as screening
    from ketacare.treatment.api import router as treatment

    api.add_router("/patients", patients)
    # These routers spell out their full paths (e.g. "/instruments", "/patients/{patient_id}/responses").
    for router in (instruments, safety, screening, treatment, outcomes):
        api.add_router("", router)


_register_routers()
