"""Writing portal records: the schedule re-anchored from the sessions, secure links and their date-of-birth check,
the patient's answers (recorded through the instruments app, so scoring and safety alerts are those of the clinic),
contact preferences, invitations and the missed-in-a-row flag. Every write is audited in its transaction; the
patient's own actions are audited under the username "patient_portal"."""

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_noop

from ketacare.accounts.access import require, require_same_clinic
from ketacare.accounts.roles import Perm
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core import clock
from ketacare.core.errors import Conflict, NotFound
from ketacare.core.revisions import current_revision, revise
from ketacare.portal import choices as c
from ketacare.portal.domain import schedule as rules
from ketacare.portal.domain.links import (
    LinkState,
    dob_matches,
    lockout_after_failure,
    token_is_well_formed,
)
from ketacare.portal.models import ContactPreference, DueItem, PatientScheduleSetting, PortalSetting, SecureLink

MOBILE_RE = re.compile(r"^\+[1-9]\d{6,14}$")  # international (E.164) once spaces, dashes, brackets are gone
PATIENT = "patient_portal"  # the audit trail's name for the patient acting through a link


class DueItemNotFound(NotFound):
    """This questionnaire was not found."""

    code = "portal.due_item_not_found"


class ItemClosed(Conflict):
    """This questionnaire can no longer be answered."""

    code = "portal.item_closed"


# ---- The schedule -----------------------------------------------------------------------------------------------

def schedule_rules(*, clinic_id: int, patient_id: int, protocol_ref: str) -> rules.Rules:
    """The protocol's defaults with the patient's overrides in force."""
    base = rules.rules_for(protocol_ref)
    setting = current_revision(PatientScheduleSetting, clinic_id=clinic_id, patient_id=patient_id)
    return rules.with_overrides(base, setting.overrides) if setting else base


def desired_items(*, clinic_id: int, patient_id: int, tz: ZoneInfo) -> tuple[rules.Due, ...]:
    from ketacare.treatment.selectors import schedule_sessions

    courses = []
    for course in schedule_sessions(clinic_id=clinic_id, patient_id=patient_id):
        sessions = [rules.Session(course_id=course["course_id"], **s) for s in course["sessions"]]
        courses.append((course["course_id"], schedule_rules(clinic_id=clinic_id, patient_id=patient_id,
                                                            protocol_ref=course["protocol_ref"]), sessions))
    return rules.due_items(courses, tz)


def _clinic_tz(clinic) -> ZoneInfo:
    try:
        return ZoneInfo(clinic.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


@transaction.atomic
def schedule_sync(*, patient_id: int, clinic_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-anchor one patient's due items to their sessions: new items are created, moved ones get their new window
    (a link already sent for the old window is revoked), items whose session went away are cancelled. Completed
    items never change. Returns the counts; audited when anything changed."""
    from ketacare.core.models import Clinic

    now = now or clock.now()
    clinic = Clinic.objects.get(pk=clinic_id)
    wanted = {d.key: d for d in desired_items(clinic_id=clinic_id, patient_id=patient_id, tz=_clinic_tz(clinic))}
    existing = {i.key: i for i in DueItem.objects.select_for_update().filter(clinic_id=clinic_id,
                                                                              patient_id=patient_id)}
    counts = {"created": 0, "moved": 0, "cancelled": 0}
    for key, due in wanted.items():
        item = existing.get(key)
        values = {"kind": due.kind.value, "course_id": due.course_id, "session_number": due.session_number,
                  "instruments": list(due.instruments), "target_at": due.target_at, "opens_at": due.opens_at,
                  "due_at": due.due_at, "expires_at": due.expires_at}
        if item is None:
            DueItem.objects.create(clinic_id=clinic_id, patient_id=patient_id, key=key, created_at=now,
                                   updated_at=now, **values)
            counts["created"] += 1
            continue
        if item.status == c.DueStatus.COMPLETED:
            continue
        changed = any(getattr(item, k) != v for k, v in values.items()) or item.status == c.DueStatus.CANCELLED
        if not changed:
            continue
        if item.opens_at != due.opens_at or item.expires_at != due.expires_at:
            _revoke_links(item, now=now)
            item.invited_at = None
        for k, v in values.items():
            setattr(item, k, v)
        item.status, item.cancelled_at, item.updated_at = c.DueStatus.SCHEDULED, None, now
        item.save()
        counts["moved"] += 1
    for key, item in existing.items():
        if key not in wanted and item.status == c.DueStatus.SCHEDULED:
            item.status, item.cancelled_at, item.updated_at = c.DueStatus.CANCELLED, now, now
            item.save(update_fields=["status", "cancelled_at", "updated_at"])
            _revoke_links(item, now=now)
            counts["cancelled"] += 1
    if any(counts.values()):
        audit_record(actor=None, username="ketacare portal", action=AuditAction.PORTAL_SCHEDULE_SYNCED,
                     patient_id=patient_id, clinic_id=clinic_id, data=counts)
    return counts


def on_sessions_changed(*, patient_id: int, clinic_id: int) -> None:
    """The treatment app's hook (treatment/links.py::register_sessions_changed)."""
    schedule_sync(patient_id=patient_id, clinic_id=clinic_id)


def schedule_sync_all(now: dt.datetime) -> int:
    """Re-sync every patient with a course (the periodic safety net behind the hook); returns how many changed."""
    from ketacare.treatment.selectors import patients_with_courses

    changed = 0
    for clinic_id, patient_id in patients_with_courses():
        if any(schedule_sync(patient_id=patient_id, clinic_id=clinic_id, now=now).values()):
            changed += 1
    return changed


@transaction.atomic
def schedule_override(*, actor, patient, overrides: dict[str, Any], reason: str) -> PatientScheduleSetting:
    """Change one patient's self-report schedule (a new revision with the reason), then re-anchor it."""
    require(actor, Perm.PRESCRIBE)
    require_same_clinic(actor, patient, DueItemNotFound)
    base = rules.Rules()
    try:
        rules.with_overrides(base, overrides)
    except rules.ScheduleRuleError as exc:
        raise ValidationError({"overrides": str(exc)}) from None
    row = revise(PatientScheduleSetting, actor=actor, reason=reason, scope={"patient": patient},
                 reason_prompt="Say why this patient's schedule differs from the protocol.", overrides=overrides)
    audit_record(actor=actor, action=AuditAction.PORTAL_SCHEDULE_CHANGED, target=row, patient_id=patient.pk,
                 data={"overrides": overrides, "revision": row.revision})
    schedule_sync(patient_id=patient.pk, clinic_id=patient.clinic_id)
    return row


# ---- Clinic settings --------------------------------------------------------------------------------------------

# 988 Suicide & Crisis Lifeline (US: call or text 988) and emergency services, as instruments.md §6.3 names them
# ("emergency services / 988 per policy"). A clinic outside the US sets its own.
DEFAULT_CRISIS_RESOURCES = (  # labels translated on the page (portal/locale)
    {"label": gettext_noop("988 Suicide & Crisis Lifeline (call or text, 24 hours)"), "contact": "988"},
    {"label": gettext_noop("Emergency services"), "contact": "911"},
)
DEFAULT_MISSED_IN_A_ROW = 3  # [U] clinic policy: three missed check-ins in a row flag the patient
MISSED_BOUNDS = (1, 20)


@dataclass(frozen=True)
class PortalPolicy:
    crisis_resources: tuple[dict, ...]
    missed_in_a_row: int
    is_default: bool


def portal_policy(clinic_id: int) -> PortalPolicy:
    row = current_revision(PortalSetting, clinic_id=clinic_id)
    if row is None:
        return PortalPolicy(DEFAULT_CRISIS_RESOURCES, DEFAULT_MISSED_IN_A_ROW, True)
    return PortalPolicy(tuple(row.crisis_resources) or DEFAULT_CRISIS_RESOURCES, row.missed_in_a_row, False)


@transaction.atomic
def portal_configure(*, actor, crisis_resources: list[dict], missed_in_a_row: int, reason: str) -> PortalSetting:
    """Set the clinic's crisis resources and missed-in-a-row flag (a new revision with the reason)."""
    require(actor, Perm.CLINIC_CONFIGURE)
    errors = {}
    cleaned = []
    for entry in crisis_resources or []:
        label, contact = str(entry.get("label", "")).strip(), str(entry.get("contact", "")).strip()
        if not label or not contact or len(label) > 120 or len(contact) > 60:
            errors["crisis_resources"] = "Each resource needs a name (up to 120 characters) and a number or " \
                                         "address (up to 60)."
        cleaned.append({"label": label, "contact": contact})
    if not cleaned:
        errors["crisis_resources"] = "Give at least one crisis resource (e.g. 988 in the US)."
    if isinstance(missed_in_a_row, bool) or not isinstance(missed_in_a_row, int) or not (
            MISSED_BOUNDS[0] <= missed_in_a_row <= MISSED_BOUNDS[1]):
        errors["missed_in_a_row"] = f"A whole number from {MISSED_BOUNDS[0]} to {MISSED_BOUNDS[1]}."
    if errors:
        raise ValidationError(errors)
    row = revise(PortalSetting, actor=actor, reason=reason, reason_prompt="Say why the portal policy changes.",
                 crisis_resources=cleaned, missed_in_a_row=missed_in_a_row)
    audit_record(actor=actor, action=AuditAction.PORTAL_SETTING_CHANGED, target=row,
                 data={"revision": row.revision, "resources": len(cleaned), "missed_in_a_row": missed_in_a_row})
    return row


# ---- Secure links -----------------------------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def link_create(*, item: DueItem, now: dt.datetime | None = None) -> tuple[SecureLink, str]:
    """A new link to `item`, valid until the item expires. Returns the row and the token (shown once, never
    stored: only its SHA-256 is)."""
    now = now or clock.now()
    if item.status != c.DueStatus.SCHEDULED or now >= item.expires_at:
        raise ItemClosed()
    token = secrets.token_urlsafe(32)
    link = SecureLink.objects.create(clinic_id=item.clinic_id, due_item=item, token_sha256=token_hash(token),
                                     created_at=now, expires_at=item.expires_at)
    audit_record(actor=None, username="ketacare portal", action=AuditAction.PORTAL_LINK_CREATED, target=link,
                 patient_id=item.patient_id, clinic_id=item.clinic_id, data={"due_item": item.pk})
    return link, token


def _revoke_links(item: DueItem, *, now: dt.datetime, actor=None) -> int:
    revoked = 0
    for link in item.links.filter(revoked_at__isnull=True):
        link.revoked_at, link.revoked_by = now, actor
        link.save(update_fields=["revoked_at", "revoked_by"])
        revoked += 1
    return revoked


@transaction.atomic
def link_revoke(*, actor, link: SecureLink) -> SecureLink:
    """Staff revoke a link (e.g. sent to a wrong address); opening it then says so and shows nothing."""
    require(actor, Perm.CLINICAL_RECORD)
    require_same_clinic(actor, link, DueItemNotFound)
    link = SecureLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = clock.now(), actor
        link.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(actor=actor, action=AuditAction.PORTAL_LINK_REVOKED, target=link,
                     patient_id=link.due_item.patient_id)
    return link


@dataclass(frozen=True)
class Opened:
    state: LinkState
    link: SecureLink | None = None


def link_state(link: SecureLink, now: dt.datetime) -> LinkState:
    item = link.due_item
    if item.status == c.DueStatus.COMPLETED:
        return LinkState.COMPLETED
    if link.revoked_at is not None or item.status == c.DueStatus.CANCELLED:
        return LinkState.REVOKED
    if now >= link.expires_at or now >= item.expires_at:
        return LinkState.EXPIRED
    if now < item.opens_at:
        return LinkState.NOT_YET_OPEN
    if link.locked_until is not None and now < link.locked_until:
        return LinkState.LOCKED
    return LinkState.OK


def link_open(*, token: str, now: dt.datetime | None = None) -> Opened:
    """What a token in a URL leads to. A malformed (tampered) or unknown (guessed) token is INVALID, with no row;
    the other states carry the link so the page can say what happened, never what the item holds."""
    now = now or clock.now()
    if not token_is_well_formed(token):
        audit_record(actor=None, username=PATIENT, action=AuditAction.PORTAL_LINK_REFUSED, data={"why": "malformed"})
        return Opened(LinkState.INVALID)
    link = SecureLink.objects.select_related("due_item").filter(token_sha256=token_hash(token)).first()
    if link is None:
        audit_record(actor=None, username=PATIENT, action=AuditAction.PORTAL_LINK_REFUSED, data={"why": "unknown"})
        return Opened(LinkState.INVALID)
    state = link_state(link, now)
    action = AuditAction.PORTAL_LINK_OPENED if state is LinkState.OK else AuditAction.PORTAL_LINK_REFUSED
    audit_record(actor=None, username=PATIENT, action=action, target=link, patient_id=link.due_item.patient_id,
                 clinic_id=link.clinic_id, data={"state": state.value})
    if state is LinkState.OK and link.opened_at is None:
        link.opened_at = now
        link.save(update_fields=["opened_at"])
    return Opened(state, link)


@dataclass(frozen=True)
class DobResult:
    ok: bool
    state: LinkState
    attempts_left: int


@transaction.atomic
def dob_check(*, link: SecureLink, date_of_birth: dt.date | None, now: dt.datetime | None = None) -> DobResult:
    """The second factor: the patient's date of birth. Wrong answers count; after MAX_FAILURES the link locks for
    LOCKOUT, and after REVOKE_AFTER in all it is revoked (the clinic sends a new one)."""
    from ketacare.portal.domain.links import MAX_FAILURES

    now = now or clock.now()
    link = SecureLink.objects.select_for_update().select_related("due_item__patient").get(pk=link.pk)
    state = link_state(link, now)
    if state is not LinkState.OK:
        return DobResult(False, state, 0)
    patient = link.due_item.patient
    if date_of_birth is not None and dob_matches(patient.date_of_birth, date_of_birth):
        link.verified_at = now
        link.dob_failures = 0 if link.dob_failures < MAX_FAILURES else link.dob_failures
        link.save(update_fields=["verified_at", "dob_failures"])
        audit_record(actor=None, username=PATIENT, action=AuditAction.PORTAL_DOB_VERIFIED, target=link,
                     patient_id=patient.pk, clinic_id=link.clinic_id)
        return DobResult(True, LinkState.OK, MAX_FAILURES)
    link.dob_failures += 1
    outcome = lockout_after_failure(link.dob_failures, now)
    link.locked_until = outcome.locked_until or link.locked_until
    if outcome.revoke:
        link.revoked_at = now
    link.save(update_fields=["dob_failures", "locked_until", "revoked_at"])
    audit_record(actor=None, username=PATIENT,
                 action=AuditAction.PORTAL_DOB_LOCKED if outcome.locked_until or outcome.revoke
                 else AuditAction.PORTAL_DOB_FAILED, target=link, patient_id=patient.pk, clinic_id=link.clinic_id,
                 data={"failures": link.dob_failures})
    return DobResult(False, link_state(link, now), outcome.attempts_left)


# ---- The patient's answers --------------------------------------------------------------------------------------

def _open_item(link_id: int, now: dt.datetime) -> tuple[SecureLink, DueItem]:
    link = SecureLink.objects.select_for_update().select_related("due_item__patient__clinic").get(pk=link_id)
    if link_state(link, now) is not LinkState.OK:
        raise ItemClosed()
    item = DueItem.objects.select_for_update().get(pk=link.due_item_id)
    return link, item


@transaction.atomic
def draft_save(*, link_id: int, instrument_key: str, answers: dict[str, str],
               now: dt.datetime | None = None) -> DueItem:
    """Keep what the patient has answered so far on one questionnaire (progress between screens and visits)."""
    now = now or clock.now()
    _link, item = _open_item(link_id, now)
    if instrument_key not in item.instruments or instrument_key in done_instruments(item):
        raise ItemClosed()
    item.draft = {**item.draft, instrument_key: {str(k)[:32]: str(v)[:32] for k, v in answers.items()}}
    item.updated_at = now
    item.save(update_fields=["draft", "updated_at"])
    audit_record(actor=None, username=PATIENT, action=AuditAction.PORTAL_DRAFT_SAVED, target=item,
                 patient_id=item.patient_id, clinic_id=item.clinic_id, data={"instrument": instrument_key})
    return item


def done_instruments(item: DueItem) -> list[str]:
    return [entry["instrument"] for entry in item.response_ids]


@dataclass(frozen=True)
class Submitted:
    item: DueItem
    response: Any
    suicide_risk: bool
    completed: bool


@transaction.atomic
def questionnaire_submit(*, link_id: int, instrument_key: str, answers: dict[str, str],
                         now: dt.datetime | None = None) -> Submitted:
    """Record one questionnaire of the item through `instruments.services.response_record` (mode patient portal),
    so scores and safety alerts are exactly those of the clinic. Final: it cannot be changed from the portal. The
    item is completed with its last questionnaire. Bad answers raise ValidationError and store nothing (the draft
    keeps them)."""
    from ketacare.instruments.choices import ResponseMode
    from ketacare.instruments.services import response_record

    now = now or clock.now()
    _link, item = _open_item(link_id, now)
    if instrument_key not in item.instruments or instrument_key in done_instruments(item):
        raise ItemClosed()
    response = response_record(patient=item.patient, actor=None, instrument_key=instrument_key, answers=answers,
                               answered_at=now, mode=ResponseMode.PATIENT_PORTAL, context=f"portal:{item.kind}")
    item.response_ids = [*item.response_ids, {"instrument": instrument_key, "response": response.pk}]
    item.draft = {k: v for k, v in item.draft.items() if k != instrument_key}
    completed = set(item.instruments) <= set(done_instruments(item))
    if completed:
        item.status, item.completed_at = c.DueStatus.COMPLETED, now
    item.updated_at = now
    item.save()
    if completed:
        audit_record(actor=None, username=PATIENT, action=AuditAction.PORTAL_ITEM_COMPLETED, target=item,
                     patient_id=item.patient_id, clinic_id=item.clinic_id,
                     data={"responses": [e["response"] for e in item.response_ids]})
    return Submitted(item, response, suicide_risk=item_suicide_risk(item), completed=completed)


def item_suicide_risk(item: DueItem) -> bool:
    """Whether any answer of this item raised a suicide-risk alert (PHQ-9 item 9 > 0, a positive C-SSRS screen):
    the page then shows the crisis resources at once."""
    from ketacare.safety.domain.rules import SUICIDE_RISK_CODES
    from ketacare.safety.selectors import alerts_from_sources

    ids = [e["response"] for e in item.response_ids]
    if not ids:
        return False
    alerts = alerts_from_sources(clinic_id=item.clinic_id, patient_id=item.patient_id, open_only=False,
                                 sources={"questionnaire_response": ids})
    return any(a.code in SUICIDE_RISK_CODES or a.code.startswith("cssrs.") for a in alerts)


# ---- Contact preferences ----------------------------------------------------------------------------------------

@transaction.atomic
def contact_update(*, actor, patient, email: str = "", mobile: str = "", preferred_channel: str = c.Channel.EMAIL,
                   email_opt_out: bool = False, sms_opt_out: bool = False,
                   language: str = c.Language.ENGLISH) -> ContactPreference:
    """Set how the patient wants to be reached between visits (staff enter what the patient asked for)."""
    require(actor, Perm.PATIENT_EDIT)
    require_same_clinic(actor, patient, DueItemNotFound)
    email, mobile = (email or "").strip(), re.sub(r"[\s().-]", "", mobile or "")
    errors: dict[str, str] = {}
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter a valid email address."
    if mobile:
        if not MOBILE_RE.match(mobile):
            errors["mobile"] = "Enter the mobile number in international form, e.g. +1 617 555 0100."
    if preferred_channel not in c.Channel.values:
        errors["preferred_channel"] = "Choose email or text message."
    if language not in c.Language.values:
        errors["language"] = "Choose English or Spanish."
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    row, created = ContactPreference.objects.select_for_update().get_or_create(
        patient=patient, defaults={"clinic_id": patient.clinic_id, "updated_at": now, "updated_by": actor})
    before = {f: getattr(row, f) for f in ("preferred_channel", "email_opt_out", "sms_opt_out", "language")}
    row.email, row.mobile, row.preferred_channel = email, mobile, preferred_channel
    row.email_opt_out, row.sms_opt_out, row.language = bool(email_opt_out), bool(sms_opt_out), language
    row.updated_at, row.updated_by = now, actor
    row.full_clean(validate_constraints=False)
    row.save()
    after = {f: getattr(row, f) for f in before}
    audit_record(actor=actor, action=AuditAction.PORTAL_CONTACT_CHANGED, target=row, patient_id=patient.pk,
                 data={"created": created, "before": before if not created else {}, "after": after,
                       "email_set": bool(email), "mobile_set": bool(mobile)})
    return row


def contact_for(patient) -> ContactPreference | None:
    return ContactPreference.objects.filter(patient=patient).first()


def delivery_channel(pref: ContactPreference | None) -> tuple[str, str] | None:
    """(channel, address) to invite on: the preferred channel if usable, else the other; None when the patient
    opted out of both or gave no address."""
    if pref is None:
        return None
    usable: dict[str, bool] = {c.Channel.EMAIL: bool(pref.email and not pref.email_opt_out),
                               c.Channel.SMS: bool(pref.mobile and not pref.sms_opt_out)}
    order = [pref.preferred_channel] + [ch for ch in c.Channel.values if ch != pref.preferred_channel]
    for channel in order:
        if usable.get(channel):
            return channel, pref.email if channel == c.Channel.EMAIL else pref.mobile
    return None


# ---- Invitations ------------------------------------------------------------------------------------------------

def invitation_text(*, first_name: str, clinic_name: str, url: str, expires_at: dt.datetime, tz: ZoneInfo,
                    language: str) -> tuple[str, str]:
    """(subject, body) of an invitation: the clinic's name, the link and its expiry, the first name at most; never
    a diagnosis, drug, score or last name (issue 11, acceptance 5)."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    expiry = expires_at.astimezone(tz)
    with translation.override(language):
        subject = _("%(clinic)s: a short questionnaire for you") % {"clinic": clinic_name}
        body = _("Hello %(name)s,\n\n%(clinic)s asks you to answer a short questionnaire. Open this secure link "
                 "(it asks for your date of birth):\n\n%(url)s\n\nThe link works until %(expiry)s.\n\n"
                 "If you feel unsafe now, call or text 988 or call 911.") % {
            "name": first_name, "clinic": clinic_name, "url": url,
            "expiry": expiry.strftime("%Y-%m-%d %H:%M")}
    return subject, body


def send_due_invitations(now: dt.datetime) -> int:
    """Enqueue one invitation per due item that has opened and not been sent (key "portal-invite:<pk>", so a
    second run or a second worker enqueues nothing new). Items of patients without a usable channel wait."""
    sent = 0
    candidates = (DueItem.objects.filter(status=c.DueStatus.SCHEDULED, invited_at__isnull=True, opens_at__lte=now,
                                         expires_at__gt=now).values_list("pk", flat=True))
    for pk in list(candidates):
        if _invite(pk, now):
            sent += 1
    return sent


@transaction.atomic
def _invite(item_id: int, now: dt.datetime) -> bool:
    from ketacare.messaging.services import enqueue

    item = (DueItem.objects.select_for_update().select_related("patient", "patient__clinic")
            .filter(pk=item_id, invited_at__isnull=True, status=c.DueStatus.SCHEDULED).first())
    if item is None:
        return False
    pref = contact_for(item.patient)
    target = delivery_channel(pref)
    if target is None or pref is None:
        return False
    channel, address = target
    link, token = link_create(item=item, now=now)
    clinic = item.patient.clinic
    url = f"{settings.KETACARE_BASE_URL}/p/{token}/"
    subject, body = invitation_text(first_name=item.patient.given_name, clinic_name=clinic.name, url=url,
                                    expires_at=item.expires_at, tz=_clinic_tz(clinic), language=pref.language)
    message = enqueue(clinic=clinic, channel=channel, to=address, subject="" if channel == c.Channel.SMS else subject,
                      body=body,
                      purpose="portal.invitation", key=f"portal-invite:{item.pk}")
    item.invited_at = now
    item.save(update_fields=["invited_at"])
    audit_record(actor=None, username="ketacare portal", action=AuditAction.PORTAL_INVITATION_QUEUED, target=item,
                 patient_id=item.patient_id, clinic_id=item.clinic_id,
                 data={"channel": channel, "link": link.pk, "message": getattr(message, "pk", None)})
    return True


# ---- Adherence: missed in a row ---------------------------------------------------------------------------------

SOURCE_DUE_ITEM = "portal_due_item"  # safety.Alert.source_type; source_id = the last missed DueItem


def flag_missed_in_a_row(now: dt.datetime) -> int:
    """Raise an alert to the patient's clinicians for each patient whose last N closed items (the clinic's N) all
    expired unanswered; one alert per run of misses (keyed by its last item). Returns how many were raised."""
    from ketacare.portal.domain.adherence import missed_run
    from ketacare.safety.selectors import any_alert_from
    from ketacare.safety.services import alert_raise

    raised = 0
    rows = (DueItem.objects.exclude(status=c.DueStatus.CANCELLED).filter(expires_at__lte=now)
            .select_related("patient").order_by("patient_id", "target_at", "id"))
    by_patient: dict[int, list[DueItem]] = {}
    for item in rows:
        by_patient.setdefault(item.patient_id, []).append(item)
    policies: dict[int, PortalPolicy] = {}
    for items in by_patient.values():
        clinic_id = items[0].clinic_id
        policy = policies.setdefault(clinic_id, portal_policy(clinic_id))
        run = missed_run([i.status == c.DueStatus.COMPLETED for i in items])
        if run < policy.missed_in_a_row:
            continue
        last = items[-1]
        if any_alert_from(clinic_id=clinic_id, patient_id=last.patient_id, source_type=SOURCE_DUE_ITEM,
                          source_ids=[i.pk for i in items[-run:]]):
            continue  # this run is already flagged
        with transaction.atomic():
            alert_raise(patient=last.patient, code="portal.missed_in_a_row", severity="moderate",
                        message=f"Missed {run} home questionnaires in a row: check in with the patient.",
                        source_type=SOURCE_DUE_ITEM, source_id=last.pk)
            audit_record(actor=None, username="ketacare portal", action=AuditAction.PORTAL_MISSED_FLAGGED,
                         target=last, patient_id=last.patient_id, clinic_id=clinic_id, data={"run": run})
        raised += 1
    return raised
