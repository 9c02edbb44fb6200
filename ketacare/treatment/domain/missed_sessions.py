"""Missed esketamine sessions: continue the schedule in induction; in maintenance, with worsening depressive
symptoms, prompt the prescriber to consider returning to the previous (more frequent) schedule.

Source: docs/domain/esketamine-and-rems.md §3.3 (missed sessions: "during the first 4 weeks: continue the current
schedule"; "during maintenance, if sessions were missed and depressive symptoms worsen: per clinical judgment
consider returning to the previous (more frequent) schedule, e.g. every-2-weeks -> weekly, weekly -> twice
weekly") and §3.1 (the phases). "Worsening" has no published number there: a PHQ-9 rise of at least
`WORSENING_PHQ9_POINTS` (5, the widely quoted PHQ-9 MCID, instruments.md §1.2 [U]) is clinic policy.

Pure: the caller passes the course's sessions, its protocol phases and the PHQ-9 totals; nothing is changed here,
the prescriber decides (and reschedules with the existing course services).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ketacare.treatment.domain.schedule import Phase

WORSENING_PHQ9_POINTS = Decimal(5)  # clinic policy [U]: instruments.md §1.2 (5-point MCID widely quoted)
MISSED_STATES = frozenset({"scheduled", "cancelled"})  # planned before today and never started
INDUCTION_PHASES = frozenset({"induction"})  # the first 4 weeks (esketamine-and-rems.md §3.1)


class Advice(StrEnum):
    CONTINUE = "continue"  # induction: the schedule simply continues
    CONSIDER_PREVIOUS_SCHEDULE = "consider_previous_schedule"  # maintenance + worsening: the prescriber's prompt
    NONE = "none"  # maintenance, no worsening recorded: nothing to do


@dataclass(frozen=True)
class PlannedSession:
    planned_on: dt.date
    phase: str
    state: str


@dataclass(frozen=True)
class Score:
    on: dt.date
    total: Decimal


@dataclass(frozen=True)
class MissedSessionAdvice:
    advice: Advice
    missed: tuple[dt.date, ...]
    phase: str
    message: str
    source: str = "esketamine-and-rems.md §3.3"

    @property
    def prompts_prescriber(self) -> bool:
        return self.advice is Advice.CONSIDER_PREVIOUS_SCHEDULE


def _frequency(phase: Phase) -> str:
    per_cycle = len(phase.day_offsets)
    if phase.cycle_days == 7:
        return "weekly" if per_cycle == 1 else ("twice weekly" if per_cycle == 2 else f"{per_cycle} times a week")
    if phase.cycle_days == 14 and per_cycle == 1:
        return "every 2 weeks"
    return f"{per_cycle} session(s) every {phase.cycle_days} days"


def previous_schedule(phases: Sequence[Phase], phase_name: str) -> str | None:
    """The schedule of the phase before `phase_name` (the more frequent one), e.g. "weekly"."""
    names = [p.name for p in phases]
    if phase_name not in names or names.index(phase_name) == 0:
        return None
    return _frequency(phases[names.index(phase_name) - 1])


def missed_session_advice(*, sessions: Sequence[PlannedSession], phases: Sequence[Phase],
                          phq9: Sequence[Score], today: dt.date,
                          worsening_points: Decimal = WORSENING_PHQ9_POINTS) -> MissedSessionAdvice | None:
    """None when no session was missed; otherwise what §3.3 says for the phase of the latest missed session."""
    missed = sorted((s for s in sessions if s.planned_on < today and s.state in MISSED_STATES),
                    key=lambda s: s.planned_on)
    if not missed:
        return None
    dates = tuple(s.planned_on for s in missed)
    phase = missed[-1].phase
    n = len(missed)
    if phase in INDUCTION_PHASES:
        return MissedSessionAdvice(Advice.CONTINUE, dates, phase,
                                   f"{n} missed session(s) during induction: continue the current schedule.")
    first_missed = dates[0]
    before = [s for s in phq9 if s.on <= first_missed]
    after = [s for s in phq9 if s.on > first_missed]
    if not before or not after:
        return MissedSessionAdvice(Advice.NONE, dates, phase,
                                   f"{n} missed session(s) in {phase}: record a PHQ-9 to see whether symptoms "
                                   "are worsening.")
    baseline = max(before, key=lambda s: s.on)
    latest = max(after, key=lambda s: s.on)
    rise = latest.total - baseline.total
    if rise < worsening_points:
        return MissedSessionAdvice(Advice.NONE, dates, phase,
                                   f"{n} missed session(s) in {phase}; PHQ-9 {baseline.total:g} -> "
                                   f"{latest.total:g} (not worsening by {worsening_points:g} or more).")
    target = previous_schedule(phases, phase)
    back_to = f"the previous, more frequent schedule ({target})" if target else "a more frequent schedule"
    return MissedSessionAdvice(
        Advice.CONSIDER_PREVIOUS_SCHEDULE, dates, phase,
        f"{n} missed session(s) in {phase} and depressive symptoms worsened (PHQ-9 {baseline.total:g} on "
        f"{baseline.on.isoformat()} -> {latest.total:g} on {latest.on.isoformat()}): consider returning to "
        f"{back_to}, per clinical judgment.")
