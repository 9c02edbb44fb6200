"""Writing intake, eligibility decisions and consent, by concern. Each service validates fully (domain rules
included), writes its audit row in the same transaction, and stores nothing when any field is refused.

Callers keep importing from `ketacare.screening.services`.
"""

from ketacare.screening.services.consent import (
    DOCUMENT_FIELDS,
    consent_document_create,
    consent_document_publish,
    consent_document_update,
    consent_record,
    consent_withdraw,
)
from ketacare.screening.services.eligibility import (
    MIN_JUSTIFICATION,
    current_facts,
    decision_cosign,
    decision_sign,
    eligibility_evaluate,
    eligibility_params_configure,
)
from ketacare.screening.services.errors import (
    ConsentAlreadyWithdrawn,
    DecisionLocked,
    DecisionSuperseded,
    DocumentPublished,
    IntakeChanged,
    NotAwaitingCosign,
)
from ketacare.screening.services.intake import (
    EDITABLE_FIELDS,
    FACT_FIELD_TO_INPUT,
    HISTORY_FIELDS,
    LIST_FLAGS,
    MEASUREMENT_FIELDS,
    MEDICATION_FIELDS,
    REFERRAL_FIELDS,
    TEXT_FIELDS,
    TRIAL_FIELDS,
    diagnosis_add,
    diagnosis_remove,
    intake_replace,
    intake_update,
    medication_add,
    medication_remove,
    trial_add,
    trial_remove,
)

__all__ = [
    "ConsentAlreadyWithdrawn",
    "DOCUMENT_FIELDS",
    "DecisionLocked",
    "DecisionSuperseded",
    "DocumentPublished",
    "EDITABLE_FIELDS",
    "FACT_FIELD_TO_INPUT",
    "HISTORY_FIELDS",
    "IntakeChanged",
    "LIST_FLAGS",
    "MEASUREMENT_FIELDS",
    "MEDICATION_FIELDS",
    "MIN_JUSTIFICATION",
    "NotAwaitingCosign",
    "REFERRAL_FIELDS",
    "TEXT_FIELDS",
    "TRIAL_FIELDS",
    "consent_document_create",
    "consent_document_publish",
    "consent_document_update",
    "consent_record",
    "consent_withdraw",
    "current_facts",
    "decision_cosign",
    "decision_sign",
    "diagnosis_add",
    "diagnosis_remove",
    "eligibility_evaluate",
    "eligibility_params_configure",
    "intake_replace",
    "intake_update",
    "medication_add",
    "medication_remove",
    "trial_add",
    "trial_remove",
]
