"""Consent documents (drafted, published, versioned) and the patient's consent and its withdrawal."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import Conflict
from ketacare.screening import selectors
from ketacare.screening.models import (
    ConsentDocument,
    PatientConsent,
)
from ketacare.screening.services.errors import ConsentAlreadyWithdrawn, DocumentPublished
from ketacare.screening.services.intake import _only, _strip

# --- consent ------------------------------------------------------------------------------------------------------

DOCUMENT_FIELDS = ("route", "version", "title", "body", "effective_on")


def _check_version_free(document: ConsentDocument) -> None:
    taken = ConsentDocument.objects.filter(clinic_id=document.clinic_id, route=document.route,
                                           version=document.version).exclude(pk=document.pk)
    if taken.exists():
        raise ValidationError({"version": "This route already has a consent document with this version."})


@transaction.atomic
def consent_document_create(*, actor, **fields: Any) -> ConsentDocument:
    """A new draft version of a route's consent text (clinic admin)."""
    require(actor, Perm.CLINIC_CONFIGURE)
    now = clock.now()
    document = ConsentDocument(clinic_id=actor.clinic_id, created_by=actor, created_at=now, updated_at=now,
                               **_strip(_only(fields, DOCUMENT_FIELDS)))
    document.full_clean(validate_constraints=False)
    _check_version_free(document)
    document.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_DOCUMENT_SAVED, target=document,
                 data={"route": document.route, "version": document.version, "created": True})
    return document


@transaction.atomic
def consent_document_update(*, actor, document: ConsentDocument, **fields: Any) -> ConsentDocument:
    """Change a draft; a published version is refused."""
    require(actor, Perm.CLINIC_CONFIGURE)
    document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
    if document.published_at is not None:
        raise DocumentPublished()
    for name, value in _strip(_only(fields, DOCUMENT_FIELDS)).items():
        setattr(document, name, value)
    document.updated_at = clock.now()
    document.full_clean(validate_constraints=False)
    _check_version_free(document)
    document.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_DOCUMENT_SAVED, target=document,
                 data={"route": document.route, "version": document.version, "fields": sorted(fields)})
    return document


@transaction.atomic
def consent_document_publish(*, actor, document: ConsentDocument) -> ConsentDocument:
    """Publish a draft: from now on it never changes and consents can be captured on it."""
    require(actor, Perm.CLINIC_CONFIGURE)
    document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
    if document.published_at is not None:
        raise DocumentPublished("This version is already published.")
    document.published_at = clock.now()
    document.published_by = actor
    document.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_DOCUMENT_PUBLISHED, target=document,
                 data={"route": document.route, "version": document.version})
    return document


def _name_key(text: str) -> str:
    return " ".join(text.replace(",", " ").split()).casefold()


@transaction.atomic
def consent_record(*, actor, patient, route: str, typed_name: str, witness,
                   document: ConsentDocument | None = None) -> PatientConsent:
    """Capture the patient's consent to a route on the current published document, witnessed by staff."""
    route = selectors.route_of(route)
    label = selectors.route_label(route)
    errors: dict[str, list[str]] = {}
    if document is None:
        document = selectors.current_consent_document(patient.clinic, route)
    if document is None or not document.is_published or document.clinic_id != patient.clinic_id \
            or document.route != route:
        errors["route"] = [f"There is no published consent document for {label}; ask the clinic admin to "
                           "publish one."]
    typed = " ".join((typed_name or "").split())
    if not typed:
        errors["typed_name"] = ["The patient types their full name to consent."]
    elif _name_key(typed) not in {_name_key(f"{patient.given_name} {patient.family_name}"),
                                  _name_key(f"{patient.family_name} {patient.given_name}")}:
        errors["typed_name"] = ["The typed name does not match the patient's name on the chart."]
    if witness is None or witness.clinic_id != patient.clinic_id or not witness.is_active \
            or not witness.has_perm_to(Perm.CLINICAL_RECORD):
        errors["witness"] = ["Choose a clinical staff member of this clinic as witness."]
    if errors or document is None:
        raise ValidationError(errors)
    if PatientConsent.objects.filter(patient=patient, document=document, withdrawn_at__isnull=True).exists():
        raise Conflict(f"The patient already has a current consent to {label} on this version.")
    consent = PatientConsent(clinic_id=patient.clinic_id, patient=patient, document=document, route=route,
                             typed_name=typed, signed_at=clock.now(), witness=witness, recorded_by=actor)
    consent.full_clean(validate_constraints=False)
    consent.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_RECORDED, target=consent, patient_id=patient.pk,
                 data={"route": str(route), "document_version": document.version, "witness": witness.pk})
    return consent


@transaction.atomic
def consent_withdraw(*, actor, consent: PatientConsent, reason: str) -> PatientConsent:
    """Record that the patient withdrew consent: no new session of the route may start."""
    consent = PatientConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise ConsentAlreadyWithdrawn()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"withdrawal_reason": ["Record how and why the patient withdrew consent."]})
    consent.withdrawn_at = clock.now()
    consent.withdrawal_reason = reason
    consent.withdrawal_recorded_by = actor
    consent.save()
    audit_record(actor=actor, action=AuditAction.CONSENT_WITHDRAWN, target=consent, patient_id=consent.patient_id,
                 data={"route": consent.route})
    return consent
