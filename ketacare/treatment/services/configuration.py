"""Clinic configuration: protocol settings, REMS settings, REMS enrolment."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.revisions import revise
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.protocols import (
    ProtocolInvalid,
    overrides_from_json,
    overrides_to_json,
)
from ketacare.treatment.models import (
    ProtocolSetting,
    RemsEnrollment,
    RemsSetting,
)
from ketacare.treatment.rems import PMF_TEMPLATES


@transaction.atomic
def protocol_configure(*, actor, protocol_ref: str, overrides: dict[str, Any], reason: str) -> ProtocolSetting:
    """Store the clinic's values for a protocol as a new revision, after the domain has validated them."""
    require(actor, Perm.CLINIC_CONFIGURE)
    base = sel.protocol_base(protocol_ref)
    try:
        protocol = overrides_from_json(base, overrides)
    except ProtocolInvalid as exc:
        raise ValidationError({"overrides": str(exc)}) from None
    from ketacare.instruments.selectors import instruments_available

    known = {i.key for i in instruments_available(actor.clinic)}
    unknown = sorted({q.instrument for q in protocol.questionnaires} - known)
    if unknown:
        raise ValidationError({"questionnaires": f"Unknown instruments: {', '.join(unknown)}."})
    setting = revise(ProtocolSetting, actor=actor, reason=reason, scope={"protocol_ref": protocol_ref},
                     overrides=overrides_to_json(base, protocol),
                     reason_prompt="Say why the protocol changes (e.g. medical director decision of …).")
    audit_record(actor=actor, action=AuditAction.PROTOCOL_CONFIGURED, target=setting,
                 data={"protocol": protocol_ref, "revision": setting.revision, "changed": sorted(setting.overrides)})
    return setting


REMS_FIELDS = ("pmf_required", "patient_enrollment_required", "pmf_due_days", "pmf_due_soon_after_days",
               "setting_type", "pmf_template", "setting_name", "address_1", "address_2", "city", "state", "zip_code",
               "telephone")


@transaction.atomic
def rems_configure(*, actor, reason: str, **values: Any) -> RemsSetting:
    """A new revision of the clinic's REMS flags and setting details (§8.4: every REMS rule behind a flag)."""
    require(actor, Perm.CLINIC_CONFIGURE)
    unknown = set(values) - set(REMS_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    last = sel.rems_setting_current(actor.clinic_id)
    current = {f: getattr(last, f) for f in REMS_FIELDS} if last else {}
    merged = {f: getattr(RemsSetting, f).field.get_default() for f in REMS_FIELDS} | current | values
    if merged["pmf_template"] not in PMF_TEMPLATES:
        raise ValidationError({"pmf_template": f"Unknown form template (known: {', '.join(PMF_TEMPLATES)})."})
    if merged["pmf_due_soon_after_days"] > merged["pmf_due_days"]:
        raise ValidationError({"pmf_due_soon_after_days": "'Due soon' must start on or before the due day."})
    row = revise(RemsSetting, actor=actor, reason=reason, reason_prompt="Say why the REMS configuration changes.",
                 **{**current, **values})
    audit_record(actor=actor, action=AuditAction.REMS_CONFIGURED, target=row,
                 data={"revision": row.revision, "changed": sorted(k for k in values if current.get(k) != values[k])})
    return row


@transaction.atomic
def rems_enrollment_record(*, actor, patient, enrolled_on: dt.date, reference: str = "") -> RemsEnrollment:
    """Record that the patient is enrolled in the SPRAVATO REMS (needed before the first outpatient dose)."""
    require(actor, Perm.CLINICAL_RECORD)
    if actor.clinic_id != patient.clinic_id:
        raise sel.SessionNotFound()
    if enrolled_on is None:
        raise ValidationError({"enrolled_on": "Enter the enrollment date."})
    if enrolled_on > clock.today():
        raise ValidationError({"enrolled_on": "The enrollment date cannot be in the future."})
    row = RemsEnrollment(clinic_id=patient.clinic_id, patient=patient, enrolled_on=enrolled_on,
                         reference=(reference or "").strip(), recorded_by=actor, recorded_at=clock.now())
    row.full_clean(validate_constraints=False)
    row.save()
    audit_record(actor=actor, action=AuditAction.REMS_ENROLLMENT_RECORDED, target=row, patient_id=patient.pk,
                 data={"enrolled_on": enrolled_on.isoformat()})
    return row
