"""The audit trail: append-only, one row per read or write of patient data and per security event.

HIPAA 164.312(b) audit controls (docs/domain/privacy.md §1). The application refuses updates and deletes here;
the database refuses them too (`ketacare.core.append_only`: a trigger on PostgreSQL and on SQLite), and each event is
chained to the one before it in its clinic, so that a change made around all of that shows (docs/audit.md).
"""

from django.conf import settings
from django.db import models

from ketacare.core.append_only import AppendOnlyModel, ImmutableRecord


class AuditAction(models.TextChoices):
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGGED_OUT = "logged_out"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    CLINIC_CREATED = "clinic_created"
    STAFF_CREATED = "staff_created"
    STAFF_UPDATED = "staff_updated"
    ACCESS_DENIED = "access_denied"
    PATIENT_CREATED = "patient_created"
    PATIENT_UPDATED = "patient_updated"
    PATIENT_VIEWED = "patient_viewed"
    FHIR_READ = "fhir_read"  # a FHIR read or search (one event per patient whose data it returned)
    FHIR_IMPORTED = "fhir_imported"  # a patient's bundle imported (or found already imported: nothing added)
    FHIR_IMPORT_REFUSED = "fhir_import_refused"
    FHIR_BULK_EXPORT_REQUESTED = "fhir_bulk_export_requested"
    FHIR_BULK_EXPORT_COMPLETED = "fhir_bulk_export_completed"  # counts only; each patient read is a FHIR_READ
    FHIR_BULK_EXPORT_DOWNLOADED = "fhir_bulk_export_downloaded"
    FHIR_BULK_EXPORT_DELETED = "fhir_bulk_export_deleted"
    CLINIC_EXPORTED = "clinic_exported"  # the clinic's whole record taken by its admin (interop.leaving)
    PATIENTS_LISTED = "patients_listed"
    AUDIT_VIEWED = "audit_viewed"
    AUDIT_EXPORTED = "audit_exported"
    RESEARCH_VIEWED = "research_viewed"
    RESEARCH_EXPORTED = "research_exported"  # a de-identified export (the rule version and file digests, no salt)
    RESPONSE_RECORDED = "response_recorded"
    RESPONSE_AMENDED = "response_amended"
    INSTRUMENT_IMPORTED = "instrument_imported"
    LICENSED_TEXT_LOADED = "licensed_text_loaded"
    ALERT_RAISED = "alert_raised"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    ALERTS_LISTED = "alerts_listed"
    INTAKE_UPDATED = "intake_updated"
    ELIGIBILITY_EVALUATED = "eligibility_evaluated"
    ELIGIBILITY_SIGNED = "eligibility_signed"
    ELIGIBILITY_COSIGNED = "eligibility_cosigned"
    CONSENT_DOCUMENT_SAVED = "consent_document_saved"
    CONSENT_DOCUMENT_PUBLISHED = "consent_document_published"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    PROTOCOL_CONFIGURED = "protocol_configured"
    REMS_CONFIGURED = "rems_configured"
    COURSE_CREATED = "course_created"
    COURSE_ENDED = "course_ended"
    COURSE_RESCHEDULED = "course_rescheduled"
    SESSION_VIEWED = "session_viewed"
    SESSION_TRANSITIONED = "session_transitioned"
    PREDOSE_RECORDED = "predose_recorded"
    DOSE_ORDERED = "dose_ordered"
    DOSE_ADMINISTERED = "dose_administered"
    INFUSION_ENDED = "infusion_ended"
    VITALS_RECORDED = "vitals_recorded"
    SIDE_EFFECTS_RECORDED = "side_effects_recorded"
    ADVERSE_EVENT_RECORDED = "adverse_event_recorded"
    ADVERSE_EVENT_RESOLVED = "adverse_event_resolved"
    DISCHARGE_CRITERIA_RECORDED = "discharge_criteria_recorded"
    SESSION_MEASURE_LINKED = "session_measure_linked"
    SUICIDE_RISK_CLEARED = "suicide_risk_cleared"
    SESSION_NOTE_SAVED = "session_note_saved"
    SESSION_SIGNED = "session_signed"
    SESSION_ADDENDUM_ADDED = "session_addendum_added"
    REMS_ENROLLMENT_RECORDED = "rems_enrollment_recorded"
    PMF_SUBMITTED = "pmf_submitted"
    PMF_EXPORTED = "pmf_exported"
    OUTCOMES_REPORT_VIEWED = "outcomes_report_viewed"
    OUTCOMES_EXPORTED = "outcomes_exported"
    OUTCOME_SETTING_CHANGED = "outcome_setting_changed"
    LETTER_DRAFTED = "letter_drafted"
    LETTER_EDITED = "letter_edited"
    LETTER_SENT = "letter_sent"
    LEDGER_VIEWED = "ledger_viewed"
    LEDGER_SETUP_SAVED = "ledger_setup_saved"
    LEDGER_RECORDED = "ledger_recorded"
    LEDGER_WITNESS_FAILED = "ledger_witness_failed"
    LEDGER_COUNTED = "ledger_counted"
    LEDGER_DISCREPANCY_CHANGED = "ledger_discrepancy_changed"
    LEDGER_REPORT_EXPORTED = "ledger_report_exported"
    MESSAGE_QUEUED = "message_queued"
    OUTBOX_VIEWED = "outbox_viewed"
    ALERT_NOTIFIED = "alert_notified"
    ALERT_ESCALATED = "alert_escalated"
    ONCALL_CHANGED = "oncall_changed"
    ONCALL_SETTING_CHANGED = "oncall_setting_changed"
    STAFF_CONTACT_CHANGED = "staff_contact_changed"
    # Between visits (portal): the patient's own actions are recorded with username "patient_portal".
    PORTAL_SCHEDULE_SYNCED = "portal_schedule_synced"
    PORTAL_SCHEDULE_CHANGED = "portal_schedule_changed"
    PORTAL_SETTING_CHANGED = "portal_setting_changed"
    PORTAL_CONTACT_CHANGED = "portal_contact_changed"
    PORTAL_CONTACT_VIEWED = "portal_contact_viewed"
    PORTAL_ADHERENCE_VIEWED = "portal_adherence_viewed"
    PORTAL_LINK_CREATED = "portal_link_created"
    PORTAL_LINK_REVOKED = "portal_link_revoked"
    PORTAL_LINK_OPENED = "portal_link_opened"
    PORTAL_LINK_REFUSED = "portal_link_refused"
    PORTAL_DOB_FAILED = "portal_dob_failed"
    PORTAL_DOB_LOCKED = "portal_dob_locked"
    PORTAL_DOB_VERIFIED = "portal_dob_verified"
    PORTAL_FORM_VIEWED = "portal_form_viewed"
    PORTAL_DRAFT_SAVED = "portal_draft_saved"
    PORTAL_ITEM_COMPLETED = "portal_item_completed"
    PORTAL_INVITATION_QUEUED = "portal_invitation_queued"
    PORTAL_MISSED_FLAGGED = "portal_missed_flagged"
    # The second factor (accounts/mfa.py) and API tokens.
    MFA_ENROLLED = "mfa_enrolled"
    MFA_VERIFIED = "mfa_verified"
    MFA_FAILED = "mfa_failed"
    MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used"
    MFA_RECOVERY_CODES_RENEWED = "mfa_recovery_codes_renewed"
    MFA_RESET = "mfa_reset"
    MFA_SETTING_CHANGED = "mfa_setting_changed"
    TOKEN_REFUSED = "token_refused"  # an expired or revoked token presented
    PASSWORD_CHANGED = "password_changed"


# One exception for every append-only record (kept under its old name for callers).
AuditImmutable = ImmutableRecord


class AuditEvent(AppendOnlyModel):
    """Who (user, role, clinic) did what (action) to which record, when, from where (request id, IP)."""

    append_only_sqlite_trigger = True

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    clinic = models.ForeignKey("core.Clinic", null=True, on_delete=models.PROTECT, related_name="+")
    # Validated against AuditAction when written (audit_record); no `choices=` here, so that adding an action needs
    # no migration.
    action = models.CharField(max_length=32, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True)
    data = models.JSONField(default=dict, blank=True)
    # The hash chain (ketacare/audit/domain/chain.py): number within the clinic's chain (or the no-clinic chain), the
    # previous event's hash and this one's. Written by audit_record only, under the chain's lock.
    seq = models.PositiveBigIntegerField(default=0)
    prev_hash = models.CharField(max_length=64, default="")
    hash = models.CharField(max_length=64, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["clinic", "-at"])]
        constraints = [
            # A fork (two events with one number) is refused by the database, whatever wrote it.
            models.UniqueConstraint(fields=["clinic", "seq"], name="audit_event_one_seq_per_clinic_chain"),
            models.UniqueConstraint(fields=["seq"], condition=models.Q(clinic__isnull=True),
                                    name="audit_event_one_seq_in_no_clinic_chain"),
        ]

    @property
    def action_label(self) -> str:
        try:
            return AuditAction(self.action).label
        except ValueError:
            return self.action

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action}"
