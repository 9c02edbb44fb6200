"""Due dates the ledger keeps: theft/loss notices, the biennial inventory, expiry.

Sources: controlled-substances.md §7 (theft or significant loss: written notice to the DEA Field Division Office
within one business day of discovery; DEA Form 106 within 45 days of discovery; the clock starts at discovery),
§5 (a new complete inventory at least every 2 years from the previous one), §3 (records kept at least 2 years;
states can be stricter, so each period is a setting of the clinic's jurisdiction profile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class JurisdictionProfile:
    """The periods and count rules a clinic works to; federal defaults (controlled-substances.md §3, §5, §7)."""

    notice_business_days: int = 1
    form106_days: int = 45
    inventory_interval_days: int = 730  # "at least every 2 years" (§5); Iowa: annual
    retention_years: int = 2  # §3; Nebraska: 5
    expiry_warning_days: int = 60
    exact_counts: bool = True  # product default (§5): exact volumes for ketamine vials
    count_tolerance_ml: Decimal = Decimal("0")


FEDERAL = JurisdictionProfile()

# Profiles of stricter states (controlled-substances.md opening note): Iowa's annual inventory with exact counts,
# Nebraska's 5-year retention. A clinic starts from one and may tighten it further.
PRESETS: dict[str, JurisdictionProfile] = {
    "federal": FEDERAL,
    "iowa": JurisdictionProfile(inventory_interval_days=365, exact_counts=True),
    "nebraska": JurisdictionProfile(retention_years=5),
}

# (minimum, maximum) of each setting: never looser than the federal rule where the federal rule is a maximum period
# (notice, Form 106, inventory interval) or a minimum (retention).
BOUNDS: dict[str, tuple[Decimal | int, Decimal | int]] = {
    "notice_business_days": (1, 1),
    "form106_days": (1, 45),
    "inventory_interval_days": (30, 730),
    "retention_years": (2, 30),
    "expiry_warning_days": (0, 365),
    "count_tolerance_ml": (Decimal(0), Decimal("1")),
}


class ProfileInvalid(ValueError):
    """A setting outside its bounds; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def profile_from(preset: str, overrides: dict) -> JurisdictionProfile:
    """The preset with the clinic's overrides, each checked against BOUNDS (ProfileInvalid otherwise)."""
    if preset not in PRESETS:
        raise ProfileInvalid("preset", f"Unknown profile {preset!r}: choose {', '.join(PRESETS)}.")
    base = PRESETS[preset]
    values: dict[str, Any] = {}
    for name, value in overrides.items():
        if name == "exact_counts":
            values[name] = bool(value)
            continue
        if name not in BOUNDS:
            raise ProfileInvalid(name, f"{name} is not a setting of the profile.")
        low, high = BOUNDS[name]
        number = Decimal(str(value)) if isinstance(low, Decimal) else int(value)
        if not low <= number <= high:
            raise ProfileInvalid(name, f"{name.replace('_', ' ').capitalize()} must be between {low} and {high}.")
        values[name] = number
    return replace(base, **values)


def add_business_days(start: dt.date, days: int, holidays: Collection[dt.date] = ()) -> dt.date:
    """`days` business days after `start` (Saturdays, Sundays and `holidays` skipped)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    return day


@dataclass(frozen=True)
class TheftClocks:
    discovered_on: dt.date
    notice_due_on: dt.date  # written notice to the DEA Field Division Office (§7 step 1)
    form106_due_on: dt.date  # DEA Form 106, filed electronically (§7 step 2)


def theft_clocks(discovered_on: dt.date, profile: JurisdictionProfile = FEDERAL,
                 holidays: Collection[dt.date] = ()) -> TheftClocks:
    """Both clocks run from discovery, not from the event (§7)."""
    return TheftClocks(discovered_on=discovered_on,
                       notice_due_on=add_business_days(discovered_on, profile.notice_business_days, holidays),
                       form106_due_on=discovered_on + dt.timedelta(days=profile.form106_days))


def inventory_due_on(last_inventory_on: dt.date | None, first_dispensing_on: dt.date | None,
                     profile: JurisdictionProfile = FEDERAL) -> dt.date | None:
    """The next complete inventory: within the interval of the last one (§5 biennial); before any, the initial
    inventory is due on the first day of dispensing."""
    if last_inventory_on is not None:
        return last_inventory_on + dt.timedelta(days=profile.inventory_interval_days)
    return first_dispensing_on


def expiry_status(expires_on: dt.date, today: dt.date, profile: JurisdictionProfile = FEDERAL) -> str:
    """'expired', 'expiring' (within the warning window) or 'ok'."""
    if expires_on < today:
        return "expired"
    if expires_on <= today + dt.timedelta(days=profile.expiry_warning_days):
        return "expiring"
    return "ok"


def count_discrepancy(expected: Decimal, counted: Decimal, profile: JurisdictionProfile = FEDERAL) -> Decimal:
    """Counted minus expected when beyond the tolerance (negative: short), else 0 (§5 count method)."""
    difference = counted - expected
    tolerance = Decimal(0) if profile.exact_counts else profile.count_tolerance_ml
    return difference if abs(difference) > tolerance else Decimal(0)
