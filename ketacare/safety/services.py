"""Raising and acknowledging safety alerts, and telling the on-call clinician about urgent ones (with escalation).
Each writes its audit row in the same transaction."""

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from ketacare.accounts.access import require
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import Conflict
from ketacare.core.revisions import revise
from ketacare.messaging.services import MessageRefused, enqueue
from ketacare.safety.choices import AlertStatus
from ketacare.safety.domain import grouping, oncall
from ketacare.safety.models import Alert, AlertFinding, AlertNotification, OnCallSetting, OnCallShift, StaffContact
from ketacare.safety.selectors import AlertNotFound, oncall_policy, rota_at, urgent_open_alerts

ACTION_REQUIRED = "Describe the action taken (e.g. the assessment done and its outcome)."


class AlertAlreadyAcknowledged(Conflict):
    """This alert was already acknowledged; an acknowledged alert does not change."""

    code = "alert_already_acknowledged"


@transaction.atomic
def alert_raise(*, patient, code: str, severity: str, message: str, source_type: str, source_id: int,
                actor=None, group_key: str = "", value: str = "", observed_at: dt.datetime | None = None) -> Alert:
    """One rule that fired on one record: `alert_raise_event` with a single part."""
    alert = alert_raise_event(patient=patient, parts=[grouping.Part(code, severity, message, value)],
                              source_type=source_type, source_id=source_id, actor=actor, group_key=group_key,
                              observed_at=observed_at)
    assert alert is not None
    return alert


@transaction.atomic
def alert_raise_event(*, patient, parts: Sequence[grouping.Part], source_type: str, source_id: int, actor=None,
                      group_key: str = "", observed_at: dt.datetime | None = None) -> Alert | None:
    """Record the rules that fired on one record (one observation) as one alert with a finding per rule.

    While an alert with the same non-empty `group_key` is open in the clinic, the findings join it (its severity
    becomes the highest seen, its message the latest observation's); otherwise a new alert opens. Idempotent per
    (source, rule): a finding already recorded is not recorded again. Urgent alerts reach the on-call clinician;
    a part that makes an open alert urgent or more severe tells them again (safety/domain/grouping.py).
    Returns None when `parts` is empty."""
    if not parts:
        return None
    now = clock.now()
    observed_at = observed_at or now
    recorded = dict(AlertFinding.objects.filter(source_type=source_type, source_id=source_id,
                                                code__in=[p.code for p in parts]).values_list("code", "alert_id"))
    new_parts = [p for p in dict((p.code, p) for p in parts).values() if p.code not in recorded]
    if not new_parts:
        return Alert.objects.get(pk=next(iter(recorded.values())))
    open_alert = None
    if group_key:
        open_alert = (Alert.objects.select_for_update()
                      .filter(clinic_id=patient.clinic_id, group_key=group_key, status=AlertStatus.OPEN).first())
    top = grouping.headline(new_parts)
    if open_alert is None:
        alert = Alert(clinic_id=patient.clinic_id, patient=patient, code=top.code,
                      severity=grouping.highest_severity(p.severity for p in new_parts),
                      message=grouping.summary(new_parts), source_type=source_type, source_id=source_id,
                      group_key=group_key, raised_at=now, updated_at=now,
                      raised_by=actor if getattr(actor, "pk", None) else None)
        alert.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:  # opened concurrently by another request: join it
            return alert_raise_event(patient=patient, parts=parts, source_type=source_type, source_id=source_id,
                                     actor=actor, group_key=group_key, observed_at=observed_at)
        renotify = oncall.is_urgent(code=alert.code, severity=alert.severity)
        joined = False
    else:
        alert = open_alert
        before = grouping.Part(alert.code, alert.severity, alert.message)
        before_severity = alert.severity
        alert.severity = grouping.highest_severity([alert.severity, *(p.severity for p in new_parts)])
        if grouping.headline([before, top]) is top:
            alert.code = top.code
        alert.message = grouping.summary(new_parts)
        alert.updated_at = now
        alert.full_clean(validate_constraints=False)
        alert.save()
        renotify = grouping.renotify(before=before, before_severity=before_severity,
                                     after=grouping.Part(alert.code, alert.severity, alert.message),
                                     after_severity=alert.severity)
        joined = True
    for part in new_parts:
        finding = AlertFinding(clinic_id=patient.clinic_id, alert=alert, code=part.code, severity=part.severity,
                               message=part.message[:500], value=part.value[:100], source_type=source_type,
                               source_id=source_id, observed_at=observed_at, recorded_at=now)
        finding.full_clean(validate_constraints=False)
        finding.save()
    audit_record(actor=actor, action=AuditAction.ALERT_RAISED, target=alert, patient_id=patient.pk,
                 clinic_id=patient.clinic_id, username="" if actor else "system",
                 data={"code": alert.code, "severity": alert.severity, "source": f"{source_type}:{source_id}",
                       "findings": [p.code for p in new_parts], "joined_open_alert": joined})
    if renotify:
        oncall_notify(alert=alert, now=now)
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor, action: str) -> Alert:
    """Record who acknowledged the alert, when, the action taken and how long it was open. Final: an acknowledged
    alert is never acknowledged again or changed."""
    require(actor, Perm.ALERT_ACKNOWLEDGE)
    if actor.clinic_id != alert.clinic_id:
        raise AlertNotFound()
    action = (action or "").strip()
    if not action:
        raise ValidationError({"action": ACTION_REQUIRED})
    current = Alert.objects.select_for_update().get(pk=alert.pk)
    if current.status != AlertStatus.OPEN:
        raise AlertAlreadyAcknowledged()
    now = clock.now()
    current.status = AlertStatus.ACKNOWLEDGED
    current.acknowledged_by = actor
    current.acknowledged_at = now
    current.action_taken = action
    current.seconds_to_acknowledge = max(0, int((now - current.raised_at).total_seconds()))
    current.full_clean(validate_constraints=False)
    current.save()
    audit_record(actor=actor, action=AuditAction.ALERT_ACKNOWLEDGED, target=current, patient_id=current.patient_id,
                 data={"code": current.code, "seconds_to_acknowledge": current.seconds_to_acknowledge})
    return current


@transaction.atomic
def alerts_listed(*, actor, count: int, status: str, via: str) -> None:
    """Record that the actor read the clinic's alert list (it names patients)."""
    audit_record(actor=actor, action=AuditAction.ALERTS_LISTED, data={"count": count, "status": status, "via": via})


# ---- On call: notification and escalation ------------------------------------------------------------------------

def _alert_link(alert: Alert) -> str:
    return settings.KETACARE_BASE_URL + reverse("safety:detail", args=[alert.pk])


def _texts(alert: Alert, tier: int) -> tuple[str, str]:
    """Subject and body: the clinic, that it is urgent, the link behind sign-in. Nothing about the patient."""
    later = "" if tier == 1 else "\nIt has not been acknowledged in time: you are the next contact."
    body = (f"{alert.clinic.name}: an urgent alert needs you now.{later}\n"
            f"Open it and acknowledge it (sign-in required):\n{_alert_link(alert)}")
    return "Urgent alert: please sign in", body


def _notify_tier(*, alert: Alert, tier: int, people: tuple[int, ...], reason: str,
                 now: dt.datetime, round_no: int = 1) -> list[AlertNotification]:
    from ketacare.accounts.models import User

    subject, body = _texts(alert, tier)
    mobiles = dict(StaffContact.objects.filter(user_id__in=people).values_list("user_id", "mobile_e164"))
    rows = []
    for user in User.objects.filter(pk__in=people, clinic_id=alert.clinic_id).order_by("pk"):
        channels = [("email", user.email, subject), ("sms", mobiles.get(user.pk, ""), "")]
        for channel, address, channel_subject in channels:
            if not address:
                continue
            note, message_ref = reason, None
            try:
                message_ref = enqueue(clinic=alert.clinic, channel=channel, to=address, subject=channel_subject,
                                      body=body, purpose=f"alert.tier{tier}",
                                      key=f"alert:{alert.pk}:{_round(round_no)}tier{tier}:user{user.pk}:{channel}").pk
            except MessageRefused as exc:
                note = f"{reason}; not sent: {exc}"[:200]
            rows.append(AlertNotification(clinic_id=alert.clinic_id, alert=alert, round=round_no, tier=tier,
                                          recipient=user, channel=channel, message_ref=message_ref, reason=note,
                                          created_at=now))
        if not any(address for _c, address, _s in channels):
            rows.append(AlertNotification(clinic_id=alert.clinic_id, alert=alert, round=round_no, tier=tier,
                                          recipient=user, channel="none",
                                          reason=f"{reason}; no email or mobile on file"[:200], created_at=now))
    for row in rows:
        row.save()
        audit_record(actor=None, action=AuditAction.ALERT_NOTIFIED if tier == 1 else AuditAction.ALERT_ESCALATED,
                     target=alert, patient_id=alert.patient_id, clinic_id=alert.clinic_id, username="system",
                     data={"tier": tier, "round": round_no, "channel": row.channel,
                           "recipient_id": row.recipient_id})
    return rows


def _round(round_no: int) -> str:
    """The outbox key's round part: empty for the first round (keys of alerts told once stay as they were)."""
    return "" if round_no == 1 else f"round{round_no}:"


def _latest_round(alert: Alert) -> tuple[int, int, dt.datetime | None]:
    """(round, highest tier reached in it, when its first tier was told); (0, 0, None) before anyone was told."""
    rows = list(alert.notifications.values_list("round", "tier", "created_at"))
    if not rows:
        return 0, 0, None
    latest = max(r for r, _t, _at in rows)
    in_round = [(t, at) for r, t, at in rows if r == latest]
    return latest, max(t for t, _at in in_round), min(at for _t, at in in_round)


TIER_REASONS = {1: "on call", 2: "second clinician: not acknowledged in time", 3: "clinic admin: not acknowledged "
                                                                                   "in time"}


@transaction.atomic
def oncall_notify(*, alert: Alert, now: dt.datetime) -> list[AlertNotification]:
    """Tell the first tier with someone in it (on call, else fallback, else the clinic admins) about an urgent
    alert, by email and SMS (sent by the worker within seconds). Called again for an open alert that became more
    severe: a new round, from the first tier, with whoever is on call now; escalation follows the latest round."""
    round_no = _latest_round(alert)[0] + 1
    fallback, _delay = oncall_policy(clinic_id=alert.clinic_id)
    rota = rota_at(clinic_id=alert.clinic_id, at=now, fallback=fallback)
    step = oncall.next_tier(rota, 0)
    if step is None:
        return []
    tier, people = step
    first = "on call" if rota.on_call else "fallback clinician (nobody on call)"
    reason = TIER_REASONS[tier] if tier > 1 else first
    if round_no > 1:
        reason = f"{reason}; told again: more severe ({alert.get_severity_display().lower()})"
    return _notify_tier(alert=alert, tier=tier, people=people, reason=reason, now=now, round_no=round_no)


def alerts_escalate(now: dt.datetime) -> int:
    """The worker's periodic job `safety.escalate`: an urgent alert still open one delay after its last tier was
    told goes to the next tier (instruments.md §1.3); an alert told again (more severe) escalates from that latest
    round (counted from when it was told), as a new alert would. Returns the number of alerts escalated."""
    escalated = 0
    for alert in urgent_open_alerts(now=now):
        with transaction.atomic():
            current = Alert.objects.select_for_update().get(pk=alert.pk)  # one worker escalates it, once
            round_no, reached, told_at = _latest_round(current)
            if current.status != AlertStatus.OPEN or reached == 0 or told_at is None:
                continue
            started = told_at  # the raising time for an alert urgent from the start
            fallback, delay = oncall_policy(clinic_id=current.clinic_id)
            if now < oncall.escalation_due_at(raised_at=started, tier_reached=reached, delay=delay):
                continue
            step = oncall.next_tier(rota_at(clinic_id=current.clinic_id, at=started, fallback=fallback), reached)
            if step is None:
                continue
            tier, people = step
            _notify_tier(alert=current, tier=tier, people=people, reason=TIER_REASONS[tier], now=now,
                         round_no=round_no)
            escalated += 1
    return escalated


# ---- On call: the rota, the policy, staff mobile numbers ---------------------------------------------------------

def _clinician(actor, user, field: str):
    if user is None:
        return None
    if user.clinic_id != actor.clinic_id or not user.is_active or not user.has_perm_to(Perm.ALERT_ACKNOWLEDGE):
        raise ValidationError({field: ["Choose an active clinician of this clinic who can acknowledge alerts."]})
    return user


@transaction.atomic
def oncall_shift_add(*, actor, clinician, starts_at: dt.datetime, ends_at: dt.datetime, backup=None) -> OnCallShift:
    """Put a clinician (and optionally a backup) on call for a time range."""
    require(actor, Perm.CLINIC_CONFIGURE)
    _clinician(actor, clinician, "clinician")
    _clinician(actor, backup, "backup")
    if backup is not None and backup.pk == clinician.pk:
        raise ValidationError({"backup": ["The backup must be someone else than the clinician on call."]})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["The shift must end after it starts."]})
    if ends_at - starts_at > dt.timedelta(days=31):
        raise ValidationError({"ends_at": ["A shift lasts at most 31 days; add several."]})
    shift = OnCallShift(clinic_id=actor.clinic_id, clinician=clinician, backup=backup, starts_at=starts_at,
                        ends_at=ends_at, created_by=actor, created_at=clock.now())
    shift.full_clean()
    shift.save()
    audit_record(actor=actor, action=AuditAction.ONCALL_CHANGED, target=shift,
                 data={"change": "added", "clinician_id": clinician.pk, "backup_id": getattr(backup, "pk", None),
                       "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return shift


@transaction.atomic
def oncall_shift_remove(*, actor, shift: OnCallShift) -> None:
    require(actor, Perm.CLINIC_CONFIGURE)
    if shift.clinic_id != actor.clinic_id:
        raise AlertNotFound()
    audit_record(actor=actor, action=AuditAction.ONCALL_CHANGED, target=shift,
                 data={"change": "removed", "clinician_id": shift.clinician_id,
                       "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat()})
    shift.delete()


@transaction.atomic
def oncall_setting_revise(*, actor, fallback_clinician, escalation_delay_minutes: int, reason: str) -> OnCallSetting:
    """A new revision of the clinic's on-call policy (fallback clinician, escalation delay), with a reason."""
    require(actor, Perm.CLINIC_CONFIGURE)
    _clinician(actor, fallback_clinician, "fallback_clinician")
    errors = oncall.validate_delay(escalation_delay_minutes)
    if errors:
        raise ValidationError({"escalation_delay_minutes": errors})
    row = revise(OnCallSetting, actor=actor, reason=reason,
                 reason_prompt="Say why the on-call policy changes (e.g. new fallback while Dr X is away).",
                 fallback_clinician=fallback_clinician, escalation_delay_minutes=escalation_delay_minutes)
    audit_record(actor=actor, action=AuditAction.ONCALL_SETTING_CHANGED, target=row,
                 data={"revision": row.revision, "fallback_clinician_id": getattr(fallback_clinician, "pk", None),
                       "escalation_delay_minutes": escalation_delay_minutes})
    return row


@transaction.atomic
def staff_contact_set(*, actor, user, mobile_e164: str) -> StaffContact:
    """Set (or clear, with "") a staff member's mobile number for urgent SMS."""
    from ketacare.messaging.services import E164

    require(actor, Perm.CLINIC_CONFIGURE)
    if user.clinic_id != actor.clinic_id:
        raise ValidationError({"user": ["Choose a member of this clinic."]})
    mobile = (mobile_e164 or "").replace(" ", "")
    if mobile and not E164.match(mobile):
        raise ValidationError({"mobile_e164": ["Enter the number in international form, e.g. +15551234567."]})
    contact, _created = StaffContact.objects.update_or_create(
        user=user, defaults={"clinic_id": actor.clinic_id, "mobile_e164": mobile, "updated_at": clock.now()})
    audit_record(actor=actor, action=AuditAction.STAFF_CONTACT_CHANGED, target=contact,
                 data={"user_id": user.pk, "has_mobile": bool(mobile)})
    return contact
