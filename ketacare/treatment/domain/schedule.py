"""Planned session dates for a treatment course, generated from a protocol's phases and adjustable by staff.

Sources:
- docs/domain/esketamine-and-rems.md §3.1 (TRD: twice weekly weeks 1-4, weekly weeks 5-8, then every 2 weeks or
  weekly from week 9), §3.2 (MDSI: twice weekly for 4 weeks = 8 doses, then evaluate).
- docs/domain/iv-ketamine.md §2 (IV induction: up to 6 infusions, 3x weekly over 12 days, Murrough 2013;
  maintenance has no established schedule: individualize).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Phase:
    """Sessions on `day_offsets` of each `cycle_days`-long cycle, repeated `cycles` times (None = open-ended)."""

    name: str
    cycle_days: int
    day_offsets: tuple[int, ...]
    cycles: int | None
    # Other cycle lengths a clinician may pick for an open-ended phase (e.g. weekly instead of every 2 weeks).
    allowed_cycle_days: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.cycle_days < 1 or not self.day_offsets:
            raise ValueError(f"phase {self.name}: needs a cycle length and at least one session day")
        if any(not 0 <= d < self.cycle_days for d in self.day_offsets) or (
                list(self.day_offsets) != sorted(set(self.day_offsets))):
            raise ValueError(f"phase {self.name}: day offsets must be ascending and inside the cycle")
        if self.cycles is not None and self.cycles < 1:
            raise ValueError(f"phase {self.name}: cycles must be at least 1")


@dataclass(frozen=True)
class PlannedSession:
    number: int  # 1-based position in the course
    phase: str
    planned_on: dt.date


class ScheduleError(ValueError):
    pass


def generate_course(phases: tuple[Phase, ...], start_on: dt.date, *, open_ended_cycles: int = 0,
                    open_ended_cycle_days: int | None = None) -> tuple[PlannedSession, ...]:
    """Plan the course: each phase starts where the previous one's cycles end.

    An open-ended phase (cycles=None, e.g. maintenance) is planned for `open_ended_cycles` cycles, optionally
    with another allowed cycle length.
    """
    planned: list[PlannedSession] = []
    phase_start = start_on
    for phase in phases:
        cycle_days, cycles = phase.cycle_days, phase.cycles
        if cycles is None:
            cycles = open_ended_cycles
            if open_ended_cycle_days is not None and open_ended_cycle_days != phase.cycle_days:
                if open_ended_cycle_days not in phase.allowed_cycle_days:
                    raise ScheduleError(f"phase {phase.name}: a {open_ended_cycle_days}-day cycle is not allowed "
                                        f"(allowed: {(phase.cycle_days, *phase.allowed_cycle_days)})")
                cycle_days = open_ended_cycle_days
        for cycle in range(cycles):
            for offset in phase.day_offsets:
                day = phase_start + dt.timedelta(days=cycle * cycle_days + offset)
                planned.append(PlannedSession(len(planned) + 1, phase.name, day))
        phase_start += dt.timedelta(days=cycles * cycle_days)
    return tuple(planned)


def reschedule(plan: tuple[PlannedSession, ...], number: int, new_on: dt.date, *,
               shift_following: bool = False) -> tuple[PlannedSession, ...]:
    """Move one planned session (and, if asked, every later one by the same number of days).

    Refused when dates would stop being strictly ascending (two sessions on one day or out of order).
    """
    by_number = {s.number: s for s in plan}
    if number not in by_number:
        raise ScheduleError(f"no planned session number {number}")
    delta = new_on - by_number[number].planned_on
    moved = tuple(
        replace(s, planned_on=s.planned_on + delta)
        if s.number == number or (shift_following and s.number > number) else s
        for s in plan)
    dates = [s.planned_on for s in sorted(moved, key=lambda s: s.number)]
    if any(a >= b for a, b in itertools.pairwise(dates)):
        raise ScheduleError(f"session {number} on {new_on.isoformat()} would clash with or pass a neighbouring session")
    return moved
