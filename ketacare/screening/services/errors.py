"""Errors of the screening services (HTTP 409 conflicts)."""

from __future__ import annotations

from ketacare.core.errors import Conflict

# --- errors -------------------------------------------------------------------------------------------------------


class DecisionLocked(Conflict):
    """This eligibility decision is signed and can no longer change."""

    code = "decision_locked"


class DecisionSuperseded(Conflict):
    """A newer evaluation exists for this route: decide on that one."""

    code = "decision_superseded"


class IntakeChanged(Conflict):
    """The intake, rules or clinic thresholds changed after this evaluation: evaluate again before signing."""

    code = "intake_changed"


class NotAwaitingCosign(Conflict):
    """Only a signed override of an exclusion awaits a co-signature."""

    code = "not_awaiting_cosign"


class DocumentPublished(Conflict):
    """A published consent document never changes: write a new version."""

    code = "document_published"


class ConsentAlreadyWithdrawn(Conflict):
    """This consent was already withdrawn."""

    code = "consent_withdrawn"
