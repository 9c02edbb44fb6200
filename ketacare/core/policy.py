"""Values the domain files give no number for: clinic policy, to be confirmed by each clinic's medical director.

Apps register theirs in `AppConfig.ready()` (like home cards); the settings pages mark them "clinic policy — no
published threshold" beside the value, and the start page gives a clinic admin the checklist of all of them.
Core names no app: each entry carries its own label, shipped default, where it is changed and its source.
"""

from dataclasses import dataclass

NO_PUBLISHED_THRESHOLD = "clinic policy — no published threshold"


@dataclass(frozen=True)
class PolicyValue:
    key: str  # "<app>.<setting path>", e.g. "treatment.thresholds.spo2_alert_below_pct"
    label: str
    default: str  # the shipped default, as shown
    where: str  # the settings page (URL name) where a clinic changes it; "" when it is a code constant
    source: str  # the docs/domain section that names the rule without a number
    order: int = 100


VALUES: dict[str, PolicyValue] = {}


def register(*values: PolicyValue) -> None:
    for value in values:
        VALUES[value.key] = value


def policy_values() -> list[PolicyValue]:
    return sorted(VALUES.values(), key=lambda v: (v.order, v.key))


def is_placeholder(key: str) -> bool:
    return key in VALUES
