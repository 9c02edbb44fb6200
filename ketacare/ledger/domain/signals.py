"""Misuse signals for the clinic admin: diversion shows up as patterns, not single entries.

Source: controlled-substances.md §7 (a loss is judged "significant" on quantity and pattern; if unsure, report) and
§6 (waste is what auditors examine). The thresholds are the product's defaults, not a regulation [U]: a staff member
is flagged when their share of drawn stock that ends as waste is well above their peers', or when draws end with
nothing administered.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from statistics import median

ZERO = Decimal(0)


@dataclass(frozen=True)
class StaffUse:
    staff_id: int
    draws: int
    drawn: Decimal
    wastes: int
    wasted: Decimal
    draws_without_administration: int  # settled with nothing given, or open past the session


@dataclass(frozen=True)
class Signal:
    staff_id: int
    waste_share: Decimal  # wasted / drawn
    peer_share: Decimal  # median of the others' shares
    waste_flag: bool
    no_administration_flag: bool
    reasons: tuple[str, ...]


def waste_share(use: StaffUse) -> Decimal:
    return (use.wasted / use.drawn).quantize(Decimal("0.001")) if use.drawn > ZERO else ZERO


def signals(uses: list[StaffUse], *, ratio: Decimal = Decimal(2), min_draws: int = 3,
            min_share: Decimal = Decimal("0.05")) -> list[Signal]:
    """One row per staff member, flagged when their waste share is at least `ratio` x the peers' median (and above
    `min_share`, over at least `min_draws` draws), or when any draw ended with nothing administered."""
    shares = {u.staff_id: waste_share(u) for u in uses}
    out = []
    for u in uses:
        peers = [shares[o.staff_id] for o in uses if o.staff_id != u.staff_id and o.draws >= min_draws]
        peer = Decimal(median(peers)).quantize(Decimal("0.001")) if peers else ZERO
        share = shares[u.staff_id]
        reasons = []
        waste_flag = (u.draws >= min_draws and share >= min_share and share >= ratio * peer and bool(peers))
        if waste_flag:
            reasons.append(f"wastes {share:.0%} of what they draw; peers {peer:.0%}")
        if u.draws_without_administration:
            reasons.append(f"{u.draws_without_administration} draw(s) with nothing administered")
        out.append(Signal(u.staff_id, share, peer, waste_flag, u.draws_without_administration > 0, tuple(reasons)))
    return sorted(out, key=lambda s: (not (s.waste_flag or s.no_administration_flag), -s.waste_share, s.staff_id))
