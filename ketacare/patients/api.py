from django.db import IntegrityError
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from ketacare.accounts.api_auth import api_perm
from ketacare.accounts.roles import Perm
from ketacare.core.errors import Conflict
from ketacare.patients import selectors, services
from ketacare.patients.schemas import PatientIn, PatientOut, PatientPatch, PatientSearchIn

router = Router(tags=["patients"])


class MrnTaken(Conflict):
    """Another patient in this clinic already has this MRN."""

    code = "mrn_taken"


@router.get("", response=list[PatientOut], auth=api_perm(Perm.PATIENT_VIEW))
@paginate(LimitOffsetPagination)
def patients_list(request):
    patients = selectors.patients_search_for(user=request.auth)
    services.patients_listed(actor=request.auth, query="", count=patients.count(), via="api")
    return patients


@router.post("/search", response=list[PatientOut], auth=api_perm(Perm.PATIENT_VIEW, reads=True))
@paginate(LimitOffsetPagination)
def patients_search(request, payload: PatientSearchIn):
    """Search by name, MRN or date of birth. A POST body, so that names never appear in URLs or access logs."""
    patients = selectors.patients_search_for(user=request.auth, query=payload.q)
    services.patients_listed(actor=request.auth, query=payload.q, count=patients.count(), via="api")
    return patients


@router.post("", response={201: PatientOut}, auth=api_perm(Perm.PATIENT_CREATE))
def patients_create(request, payload: PatientIn):
    try:
        patient = services.patient_create(actor=request.auth, **payload.model_dump())
    except IntegrityError:
        raise MrnTaken() from None
    return Status(201, patient)


@router.get("/{patient_id}", response=PatientOut, auth=api_perm(Perm.PATIENT_VIEW))
def patients_get(request, patient_id: int):
    patient = selectors.patient_get_for(user=request.auth, patient_id=patient_id)
    services.patient_viewed(actor=request.auth, patient=patient, via="api")
    return patient


@router.patch("/{patient_id}", response=PatientOut, auth=api_perm(Perm.PATIENT_EDIT))
def patients_update(request, patient_id: int, payload: PatientPatch):
    patient = selectors.patient_get_for(user=request.auth, patient_id=patient_id)
    try:
        return services.patient_update(actor=request.auth, patient=patient, **payload.model_dump(exclude_unset=True))
    except IntegrityError:
        raise MrnTaken() from None
