"""Who is told about an urgent alert, and when it escalates (pure Python; times are passed in).

Source: instruments.md §1.3 (PHQ-9 item 9 >= 1: "an alert to the responsible clinician", same-day assessment;
escalation tiers are clinic-configurable) and §6.3 (C-SSRS high risk: emergency pathway). The urgent alerts are the
suicide-risk codes (safety/domain/rules.py::SUICIDE_RISK_CODES) and every emergency-severity alert.

Tiers: 1 = the clinician on call when the alert is raised (or the clinic's fallback clinician when nobody is);
2 = a second clinician (the shift's backup, else the fallback) after the clinic's escalation delay; 3 = the clinic
admins after twice the delay. A tier with nobody in it is skipped, so someone is always told. The default delay of
15 minutes is clinic policy [U] (no source gives a number): each clinic sets its own, within the bounds below.
"""

import datetime as dt
from dataclasses import dataclass

from ketacare.safety.domain.rules import SUICIDE_RISK_CODES

DEFAULT_ESCALATION_DELAY_MINUTES = 15
ESCALATION_DELAY_BOUNDS = (1, 240)  # minutes; longer than 4 h is not "same day, urgent" (instruments.md §1.3)
LAST_TIER = 3


def is_urgent(*, code: str, severity: str) -> bool:
    """An alert that must reach a named clinician at once (instruments.md §1.3, §6.3)."""
    return code in SUICIDE_RISK_CODES or severity == "emergency"


@dataclass(frozen=True)
class Rota:
    """Who can be told, as ids: the shift covering the alert's time (if any), the fallback, the clinic admins."""

    on_call: int | None
    backup: int | None
    fallback: int | None
    admins: tuple[int, ...]


def tier_recipients(rota: Rota, tier: int) -> tuple[int, ...]:
    """The people of one tier, without anyone an earlier tier already told."""
    if tier not in (1, 2, 3):
        raise ValueError(f"tiers are 1 to {LAST_TIER}")
    first = rota.on_call or rota.fallback
    if tier == 1:
        return (first,) if first else ()
    if tier == 2:
        second = rota.backup if rota.on_call and rota.backup else rota.fallback
        return (second,) if second and second != first else ()
    told = {first, *tier_recipients(rota, 2)}
    return tuple(a for a in rota.admins if a not in told)


def next_tier(rota: Rota, after: int) -> tuple[int, tuple[int, ...]] | None:
    """The next tier after `after` that has someone in it, with its people; None when no one is left."""
    for tier in range(after + 1, LAST_TIER + 1):
        people = tier_recipients(rota, tier)
        if people:
            return tier, people
    return None


def escalation_due_at(*, raised_at: dt.datetime, tier_reached: int, delay: dt.timedelta) -> dt.datetime:
    """When an alert still open after tier `tier_reached` goes to the next tier: one delay per tier reached."""
    if tier_reached < 1:
        raise ValueError("an alert is escalated only after its first tier was told")
    return raised_at + delay * tier_reached


def validate_delay(minutes: int) -> list[str]:
    low, high = ESCALATION_DELAY_BOUNDS
    if not low <= minutes <= high:
        return [f"The escalation delay must be between {low} and {high} minutes (default "
                f"{DEFAULT_ESCALATION_DELAY_MINUTES})."]
    return []
