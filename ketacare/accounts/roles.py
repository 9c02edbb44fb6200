"""Roles and what each may do: the one place permissions are declared.

Least privilege per HIPAA 164.312(a)(1) and "minimum necessary" (docs/domain/privacy.md §1, §4): front desk sees
demographics, not clinical scores; researchers see de-identified aggregates only; auditors see the audit trail only.
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    FRONT_DESK = "front_desk", "Front desk"
    THERAPIST = "therapist", "Therapist"
    RESEARCHER = "researcher", "Researcher"
    AUDITOR = "auditor", "Auditor"


class Perm(StrEnum):
    HOME = "home"  # the landing page; every signed-in role
    PATIENT_VIEW = "patient.view"  # patient list, search and chart identity
    PATIENT_CREATE = "patient.create"
    PATIENT_EDIT = "patient.edit"
    CLINICAL_VIEW = "clinical.view"  # clinical panels of the chart (scores, sessions)
    CLINICAL_RECORD = "clinical.record"  # enter clinical data (vitals, questionnaires)
    PRESCRIBE = "prescribe"  # sign eligibility decisions, dose orders
    ALERT_ACKNOWLEDGE = "alert.acknowledge"  # acknowledge a safety alert with the action taken
    DOSE_ADMINISTER = "dose.administer"  # record a dose given, device by device
    CLINIC_CONFIGURE = "clinic.configure"  # clinic policy: thresholds, protocols, consent documents, licensed text
    STAFF_MANAGE = "staff.manage"  # clinic users
    RESEARCH_VIEW = "research.view"  # de-identified aggregates, never names
    AUDIT_VIEW = "audit.view"
    LEDGER_VIEW = "ledger.view"  # controlled-substance stock, balances and alerts
    LEDGER_RECORD = "ledger.record"  # draw, administer, waste (and witness a waste) of controlled substances
    LEDGER_MANAGE = "ledger.manage"  # registrant, products, lots, locations; receive, count, resolve, report
    FHIR_BULK_EXPORT = "fhir.bulk_export"  # FHIR Bulk Data $export of the clinic's identified records


_CLINICAL_CARE = {Perm.HOME, Perm.PATIENT_VIEW, Perm.PATIENT_CREATE, Perm.PATIENT_EDIT, Perm.CLINICAL_VIEW}

PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.CLINIC_ADMIN: frozenset({Perm.HOME, Perm.PATIENT_VIEW, Perm.PATIENT_CREATE, Perm.PATIENT_EDIT,
                                  Perm.STAFF_MANAGE, Perm.CLINIC_CONFIGURE, Perm.LEDGER_VIEW, Perm.LEDGER_MANAGE}),
    Role.PRESCRIBER: frozenset(_CLINICAL_CARE | {Perm.CLINICAL_RECORD, Perm.PRESCRIBE, Perm.ALERT_ACKNOWLEDGE,
                                                 Perm.DOSE_ADMINISTER, Perm.LEDGER_VIEW, Perm.LEDGER_RECORD,
                                                 Perm.FHIR_BULK_EXPORT}),
    Role.NURSE: frozenset(_CLINICAL_CARE | {Perm.CLINICAL_RECORD, Perm.ALERT_ACKNOWLEDGE, Perm.DOSE_ADMINISTER,
                                            Perm.LEDGER_VIEW, Perm.LEDGER_RECORD}),
    Role.FRONT_DESK: frozenset({Perm.HOME, Perm.PATIENT_VIEW, Perm.PATIENT_CREATE, Perm.PATIENT_EDIT}),
    Role.THERAPIST: frozenset({Perm.HOME, Perm.PATIENT_VIEW, Perm.CLINICAL_VIEW, Perm.CLINICAL_RECORD}),
    Role.RESEARCHER: frozenset({Perm.HOME, Perm.RESEARCH_VIEW}),
    Role.AUDITOR: frozenset({Perm.HOME, Perm.AUDIT_VIEW}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in PERMISSIONS.get(role, frozenset())
