"""The dose: default, order, administration, end of infusion."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.treatment import choices as c
from ketacare.treatment import links
from ketacare.treatment import selectors as sel
from ketacare.treatment.domain.dosing import (
    DoseRefused,
    DosingWeight,
    WeightBasis,
    device_gap_warnings,
    dose_check,
    early_by,
    esketamine_devices,
    iv_dose,
    minutes_text,
)
from ketacare.treatment.domain.protocols import (
    DeviceDoseRule,
    WeightBasedDoseRule,
)
from ketacare.treatment.models import (
    DoseAdministration,
    DoseOrder,
    DosingSession,
    InfusionEnd,
)
from ketacare.treatment.services._common import (
    FUTURE_TOLERANCE,
    DoseOverrideRequired,
    DosingBlocked,
    SessionStateConflict,
    _aware,
    _lock,
    _not_future,
    _same_clinic,
)


def _previous_dose_mg(session: DosingSession) -> Decimal | None:
    previous = (DosingSession.objects.filter(course_id=session.course_id, first_dose_at__isnull=False)
                .exclude(pk=session.pk).order_by("-first_dose_at").first())
    if previous is None:
        return None
    return sum((a.mg for a in previous.administrations.all()), Decimal(0)) or None


def dose_default_mg(session: DosingSession) -> Decimal | None:
    """The esketamine dose offered by default: the previous session's dose, or the protocol's first dose."""
    rule = sel.session_protocol(session).dose_rule
    if not isinstance(rule, DeviceDoseRule):
        return None
    return _previous_dose_mg(session) or rule.first_dose_mg


@transaction.atomic
def dose_order(*, actor, session: DosingSession, dose_mg: Decimal | None = None, mg_per_kg: Decimal | None = None,
               concentration_mg_per_ml: Decimal | None = None, infusion_minutes: int | None = None,
               override_reason: str = "") -> DoseOrder:
    """The prescriber's order, computed and checked by the domain. A dose outside the protocol needs an explicit
    override with a reason; a dose above the hard maximum or not in whole devices is refused outright."""
    require(actor, Perm.PRESCRIBE)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state not in (c.SessionState.CHECKED_IN, c.SessionState.PRE_DOSE):
        raise SessionStateConflict("A dose is ordered after check-in and before dosing starts.")
    if s.administrations.exists():
        raise SessionStateConflict("The dose is already being given; it cannot be re-ordered.")
    protocol = sel.session_protocol(s)
    rule = protocol.dose_rule
    override_reason = (override_reason or "").strip()
    now = clock.now()
    previous = _previous_dose_mg(s)
    order = DoseOrder(clinic_id=s.clinic_id, session=s, ordered_by=actor, ordered_at=now)
    if isinstance(rule, WeightBasedDoseRule):
        mg_per_kg = mg_per_kg if mg_per_kg is not None else rule.mg_per_kg
        infusion_minutes = infusion_minutes if infusion_minutes is not None else rule.infusion_minutes
        if concentration_mg_per_ml is None:
            raise ValidationError({"concentration_mg_per_ml": "Enter the concentration of the prepared infusion."})
        if s.dosing_weight_kg is None:
            raise ValidationError({"mg_per_kg": "Record the weight and its basis in the pre-dose assessment first."})
        weight = DosingWeight(WeightBasis(s.weight_basis), s.dosing_weight_kg, tuple(s.dosing_weight_working))
        try:
            dose = iv_dose(weight=weight, mg_per_kg=mg_per_kg, concentration_mg_per_ml=concentration_mg_per_ml,
                           infusion_minutes=infusion_minutes, max_mg=rule.max_total_mg)
        except DoseRefused as exc:
            working = exc.details.get("working")
            raise DoseRefused(str(exc), working=list(working) if isinstance(working, (list, tuple)) else []) from None
        check = dose_check(protocol, dose_mg=dose.mg, mg_per_kg=mg_per_kg, infusion_minutes=infusion_minutes,
                           weight=weight, actual_kg=s.actual_weight_kg)
        order.dose_mg, order.mg_per_kg, order.infusion_minutes = dose.mg, mg_per_kg, infusion_minutes
        order.weight_basis, order.dosing_weight_kg = s.weight_basis, s.dosing_weight_kg
        order.concentration_mg_per_ml, order.volume_ml = concentration_mg_per_ml, dose.ml
        order.rate_mg_per_min, order.rate_ml_per_h, order.working = dose.mg_per_min, dose.ml_per_h, list(dose.working)
    elif isinstance(rule, DeviceDoseRule):
        first_in_course = previous is None
        if dose_mg is None:
            dose_mg = previous if previous is not None else rule.first_dose_mg
        check = dose_check(protocol, dose_mg=dose_mg, first_in_course=first_in_course, previous_dose_mg=previous)
        if check.refused:
            raise DoseRefused("; ".join(i.message for i in check.issues))
        devices = esketamine_devices(dose_mg, now, minutes_between=rule.minutes_between_devices)
        order.dose_mg, order.device_count = dose_mg, len(devices)
        order.working = [f"dose: {dose_mg} mg = {len(devices)} x {rule.device_mg} mg device"
                         f"{'s' if len(devices) > 1 else ''}",
                         f"one device every {rule.minutes_between_devices} min: devices at "
                         + ", ".join(f"+{(d.scheduled_at - now).seconds // 60} min" for d in devices),
                         "first dose of the course" if first_in_course else f"previous dose {previous} mg"]
    else:
        raise DoseRefused(f"protocol {protocol.ref} gives no dose")
    if check.refused:
        raise DoseRefused("; ".join(i.message for i in check.issues), working=order.working)
    if check.needs_override and not override_reason:
        raise DoseOverrideRequired("; ".join(i.message for i in check.issues),
                                   issues=[{"code": i.code, "message": i.message} for i in check.issues],
                                   working=order.working)
    order.issues = [{"code": i.code, "message": i.message, "overridable": i.overridable} for i in check.issues]
    order.override_reason = override_reason if check.issues else ""
    order.supersedes = sel.current_order(s)
    order.full_clean(validate_constraints=False)
    order.save()
    audit_record(actor=actor, action=AuditAction.DOSE_ORDERED, target=order, patient_id=s.patient_id,
                 data={"dose_mg": str(order.dose_mg), "override": bool(order.override_reason),
                       "issues": [i["code"] for i in order.issues]})
    return order


@transaction.atomic
def dose_administer(*, actor, session: DosingSession, lot_number: str, given_at: dt.datetime | None = None,
                    device_number: int | None = None, early_reason: str = "") -> DoseAdministration:
    """Record one esketamine device (time and lot) or the start of the IV infusion. The first one starts the
    observation clock (§7: from the first device). A device before it is due (`minutes_between_devices` after the
    previous one) is refused unless `early_reason` confirms it; the confirmation is stored with the row."""
    require(actor, Perm.DOSE_ADMINISTER)
    _same_clinic(actor, session)
    s = _lock(session)
    if s.state != c.SessionState.DOSING:
        raise SessionStateConflict("Start dosing first: the pre-dose checks must pass.")
    order = sel.current_order(s)
    if order is None:
        raise SessionStateConflict("No dose has been ordered.")
    if any(a.severity in links.CRITICAL_SEVERITIES for a in links.session_alerts(s)):
        raise DosingBlocked("An emergency alert of this session is open: acknowledge it and reassess the patient "
                            "before giving more.")
    if links.suicide_risk_blocks(s.patient):
        raise DosingBlocked("A suicide-risk alert blocks dosing until a prescriber clears it.")
    now = clock.now()
    given_at = _aware(given_at) or now
    lot_number = (lot_number or "").strip()
    entered_dosing_at = sel.dosing_entered_at(s)
    errors = {}
    if not lot_number:
        errors["lot_number"] = "Enter the lot number printed on the device or vial."
    if given_at > now + FUTURE_TOLERANCE:
        errors["given_at"] = "This time is in the future."
    elif entered_dosing_at and given_at < entered_dosing_at:
        errors["given_at"] = (f"This time is before dosing started "
                              f"({timezone.localtime(entered_dosing_at):%H:%M:%S}).")
    elif s.checked_in_at and given_at < s.checked_in_at:
        errors["given_at"] = "This time is before the patient checked in."
    if errors:
        raise ValidationError(errors)
    given = list(s.administrations.order_by("given_at", "id"))
    warnings: list[str] = []
    if order.device_count:
        number = len(given) + 1
        if number > order.device_count:
            raise SessionStateConflict(f"All {order.device_count} devices are already recorded.")
        if device_number is not None and device_number != number:
            raise ValidationError({"device_number": f"The next device is number {number}."})
        if given and given_at < given[-1].given_at:
            raise ValidationError({"given_at": f"Device {number} cannot be before device {number - 1}."})
        rule = sel.session_protocol(s).dose_rule
        gap = rule.minutes_between_devices if isinstance(rule, DeviceDoseRule) else 0
        early = early_by([a.given_at for a in given], given_at, gap)
        early_reason = (early_reason or "").strip()
        if early is not None and not early_reason:
            due = given[-1].given_at + dt.timedelta(minutes=gap)
            raise ValidationError({"early_reason": (
                f"Device {number} is due at {timezone.localtime(due):%H:%M} ({gap} min after device {number - 1}); "
                f"this is {minutes_text(early)} early. To give it now, confirm with the reason.")})
        warnings = [w for w in device_gap_warnings([a.given_at for a in given] + [given_at], gap)
                    if w.startswith(f"device {number} ")]
        mg = order.dose_mg / order.device_count
    else:
        if given:
            raise SessionStateConflict("The infusion has already started.")
        number, mg = None, order.dose_mg
    confirmed = bool(order.device_count and warnings and early_reason)
    row = DoseAdministration(clinic_id=s.clinic_id, session=s, order=order, device_number=number, mg=mg,
                             given_at=given_at, lot_number=lot_number, given_by=actor, recorded_at=now,
                             warnings=warnings, early_confirmed_by=actor if confirmed else None,
                             early_reason=early_reason[:500] if confirmed else "")
    row.full_clean(validate_constraints=False)
    row.save()
    if not given:
        s.first_dose_at = given_at
    if order.device_count and number == order.device_count:
        s.dose_completed_at = given_at
    s.save(update_fields=["first_dose_at", "dose_completed_at"])
    audit_record(actor=actor, action=AuditAction.DOSE_ADMINISTERED, target=row, patient_id=s.patient_id,
                 data={"mg": str(mg), "device": number, "lot_number": lot_number, "warnings": warnings,
                       **({"early_confirmed": True, "early_reason": row.early_reason} if confirmed else {})})
    if not given:
        links.sessions_changed(patient_id=s.patient_id, clinic_id=s.clinic_id)
    return row


@transaction.atomic
def infusion_end(*, actor, session: DosingSession, ended_at: dt.datetime | None = None, note: str = "") -> InfusionEnd:
    """Record when the IV infusion stopped; the dose is then complete."""
    require(actor, Perm.DOSE_ADMINISTER)
    _same_clinic(actor, session)
    s = _lock(session)
    start = s.administrations.filter(device_number__isnull=True).first()
    if s.state != c.SessionState.DOSING or start is None:
        raise SessionStateConflict("There is no running infusion to stop.")
    if InfusionEnd.objects.filter(administration=start).exists():
        raise SessionStateConflict("The infusion end is already recorded.")
    now = clock.now()
    ended_at = _aware(ended_at) or now
    _not_future("ended_at", ended_at, now, s.patient.date_of_birth)
    if ended_at < start.given_at:
        raise ValidationError({"ended_at": "The infusion cannot end before it started."})
    row = InfusionEnd(clinic_id=s.clinic_id, administration=start, ended_at=ended_at, recorded_by=actor,
                      recorded_at=now, note=(note or "").strip())
    row.full_clean(validate_constraints=False)
    row.save()
    s.dose_completed_at = ended_at
    s.save(update_fields=["dose_completed_at"])
    audit_record(actor=actor, action=AuditAction.INFUSION_ENDED, target=row, patient_id=s.patient_id,
                 data={"minutes": int((ended_at - start.given_at).total_seconds() // 60)})
    return row
