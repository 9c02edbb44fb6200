"""Self-report due items anchored to treatment: what a patient is asked to answer at home, and when.

Sources (docs/domain/):
- evidence.md §6 (assessment time points: pre-dose at each session; 2-4 h after a dose; 24 h; weekly to week 8 for
  relapse surveillance; monthly in maintenance).
- iv-ketamine.md §2 (the relapse clock starts at the last induction infusion; responders' median time to relapse
  18 days after an IV series, Murrough 2013): weekly follow-up for N weeks after the last dose of a series.
- esketamine-and-rems.md §3.1 (maintenance from week 9 every 2 weeks or weekly): a check-in every 2 weeks while in
  maintenance.

Pure rules: the caller passes the patient's sessions (read through the treatment selectors), the rules in force
(protocol defaults with the patient's overrides) and the clinic's time zone. The same sessions always give the
same items with the same keys, so recording, cancelling or moving a session re-anchors the items by key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class Kind(StrEnum):
    BASELINE = "baseline"  # before the first session of treatment
    PRE_DOSE = "pre_dose"  # before each later session
    POST_2H = "post_2h"  # the rapid-relief window, evidence.md §6 (2-4 h)
    POST_24H = "post_24h"  # evidence.md §6 (24 h)
    FOLLOW_UP = "follow_up"  # weekly after the last dose of a series, iv-ketamine.md §2
    MAINTENANCE = "maintenance"  # every 2 weeks in maintenance, esketamine-and-rems.md §3.1


# Instruments whose item text may be shown at home (PHQ-9 and GAD-7 are free to reproduce, instruments.md §1, §2).
HOME_INSTRUMENTS = ("phq-9", "gad-7")
MAINTENANCE_PHASE = "maintenance"


class ScheduleRuleError(ValueError):
    """An override outside its bounds; the message names the field."""


@dataclass(frozen=True)
class Window:
    """Times relative to an item's target: opens `opens_before` before it, is due `due_after` after it and expires
    `expires_after` after it (0 = at the target)."""

    opens_before: dt.timedelta
    due_after: dt.timedelta
    expires_after: dt.timedelta

    def __post_init__(self) -> None:
        if (self.opens_before < dt.timedelta(0) or not dt.timedelta(0) <= self.due_after <= self.expires_after
                or self.opens_before + self.expires_after <= dt.timedelta(0)):
            raise ScheduleRuleError("a window opens before its target and expires at or after it is due")


H, D = dt.timedelta(hours=1), dt.timedelta(days=1)

# [U] clinic policy: the sources give the time points, not how long a patient may take to answer. Pre-dose items
# close at the session (after that the clinic measures in person); +2 h closes before the +4 h point of evidence.md
# §6; +24 h stays open a day; weekly and two-weekly items stay open until the next one could open.
WINDOWS: Mapping[Kind, Window] = {
    Kind.BASELINE: Window(opens_before=7 * D, due_after=dt.timedelta(0), expires_after=dt.timedelta(0)),
    Kind.PRE_DOSE: Window(opens_before=2 * D, due_after=dt.timedelta(0), expires_after=dt.timedelta(0)),
    Kind.POST_2H: Window(opens_before=dt.timedelta(0), due_after=1 * H, expires_after=2 * H),
    Kind.POST_24H: Window(opens_before=4 * H, due_after=8 * H, expires_after=24 * H),
    Kind.FOLLOW_UP: Window(opens_before=dt.timedelta(0), due_after=2 * D, expires_after=6 * D),
    Kind.MAINTENANCE: Window(opens_before=dt.timedelta(0), due_after=3 * D, expires_after=13 * D),
}

# An interval item (follow-up, maintenance) within this distance of a session is dropped: the session's own
# pre-dose item measures the same days (no patient is asked twice in one week).
DEDUPE = dt.timedelta(days=3)
# A planned session has a date, not a time: its anchor is this local time of day until the dose is recorded.
PLANNED_TIME = dt.time(9, 0)


@dataclass(frozen=True)
class Rules:
    """The schedule in force for one patient: which kinds, which instruments, how many weeks of follow-up, how
    often in maintenance. Protocol defaults (`rules_for`) overridden per patient (`with_overrides`)."""

    kinds: frozenset[Kind] = frozenset(Kind)
    instruments: Mapping[Kind, tuple[str, ...]] = field(default_factory=lambda: {
        Kind.BASELINE: ("phq-9", "gad-7"), Kind.PRE_DOSE: ("phq-9", "gad-7"), Kind.POST_2H: ("phq-9",),
        Kind.POST_24H: ("phq-9", "gad-7"), Kind.FOLLOW_UP: ("phq-9", "gad-7"),
        Kind.MAINTENANCE: ("phq-9", "gad-7")})
    follow_up_weeks: int = 4
    maintenance_every_days: int = 14


FOLLOW_UP_WEEKS_BOUNDS = (0, 26)
MAINTENANCE_DAYS_BOUNDS = (7, 28)

# Per protocol (treatment/domain/protocols.py keys). IV series: 8 weeks of weekly follow-up covers the relapse
# window after a series (median 18 days, followed to 83 days; iv-ketamine.md §2) [U: the length is clinic policy].
# Esketamine goes on into weekly, then two-weekly maintenance sessions (esketamine-and-rems.md §3.1), so 4 weeks
# bridge the gap only when a course ends. A therapy-only course has no dose: no post-dose items.
PROTOCOL_RULES: Mapping[str, Rules] = {
    "iv-ketamine-induction": Rules(follow_up_weeks=8),
    "iv-ketamine-maintenance": Rules(follow_up_weeks=0),
    "esketamine-trd": Rules(follow_up_weeks=4),
    "esketamine-mdsi": Rules(follow_up_weeks=4),
    "psychotherapy-integration": Rules(kinds=frozenset(Kind) - {Kind.POST_2H, Kind.POST_24H}, follow_up_weeks=0),
}


def rules_for(protocol_key: str) -> Rules:
    """The shipped default for a protocol key ("esketamine-trd" or "esketamine-trd@1"); unknown keys get Rules()."""
    return PROTOCOL_RULES.get(protocol_key.split("@", 1)[0], Rules())


def with_overrides(rules: Rules, overrides: Mapping[str, Any]) -> Rules:
    """A patient's overrides: `kinds` (list of kind values), `instruments` ({kind: [keys]}), `follow_up_weeks`,
    `maintenance_every_days`. Anything unknown or out of bounds raises ScheduleRuleError naming the field."""
    unknown = set(overrides) - {"kinds", "instruments", "follow_up_weeks", "maintenance_every_days"}
    if unknown:
        raise ScheduleRuleError(f"unknown schedule setting {sorted(unknown)[0]!r}")
    values: dict[str, Any] = {}
    if "kinds" in overrides:
        try:
            values["kinds"] = frozenset(Kind(k) for k in overrides["kinds"])
        except (ValueError, TypeError):
            raise ScheduleRuleError(f"kinds: choose from {', '.join(k.value for k in Kind)}") from None
    if "instruments" in overrides:
        chosen = dict(rules.instruments)
        raw = overrides["instruments"]
        if not isinstance(raw, Mapping):
            raise ScheduleRuleError("instruments: give a list of questionnaires per kind")
        for kind, keys in raw.items():
            try:
                kind = Kind(kind)
            except ValueError:
                raise ScheduleRuleError(f"instruments: unknown kind {str(kind)[:40]!r}") from None
            if isinstance(keys, str) or not keys or any(k not in HOME_INSTRUMENTS for k in keys):
                raise ScheduleRuleError(f"instruments: choose one or more of {', '.join(HOME_INSTRUMENTS)}")
            chosen[kind] = tuple(dict.fromkeys(keys))
        values["instruments"] = chosen
    for name, (low, high) in (("follow_up_weeks", FOLLOW_UP_WEEKS_BOUNDS),
                              ("maintenance_every_days", MAINTENANCE_DAYS_BOUNDS)):
        if name in overrides:
            value = overrides[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ScheduleRuleError(f"{name}: a whole number from {low} to {high}")
            values[name] = value
    return replace(rules, **values)


@dataclass(frozen=True)
class Session:
    """What the schedule needs of one dosing session."""

    course_id: int
    number: int
    phase: str
    planned_on: dt.date
    cancelled: bool = False  # cancelled, held or escalated without a dose: anchors nothing
    dosed_at: dt.datetime | None = None  # the first device / infusion start, once recorded


@dataclass(frozen=True)
class Due:
    """One due item: a stable key (the same session gives the same key), the instruments and the window."""

    key: str
    kind: Kind
    course_id: int | None
    session_number: int | None
    instruments: tuple[str, ...]
    target_at: dt.datetime
    opens_at: dt.datetime
    due_at: dt.datetime
    expires_at: dt.datetime


def anchor(session: Session, tz: ZoneInfo) -> dt.datetime:
    """The dose time once recorded; before that the planned day at PLANNED_TIME in the clinic's time zone."""
    if session.dosed_at is not None:
        return session.dosed_at
    return dt.datetime.combine(session.planned_on, PLANNED_TIME, tzinfo=tz)


def _due(kind: Kind, key: str, target: dt.datetime, rules: Rules, *, course_id: int | None,
         number: int | None) -> Due:
    w = WINDOWS[kind]
    return Due(key=key, kind=kind, course_id=course_id, session_number=number, instruments=rules.instruments[kind],
               target_at=target, opens_at=target - w.opens_before, due_at=target + w.due_after,
               expires_at=target + w.expires_after)


def due_items(courses: Iterable[tuple[int, Rules, Iterable[Session]]], tz: ZoneInfo) -> tuple[Due, ...]:
    """Every due item of one patient, ordered by target time: `courses` gives each course's id, the rules in force
    and its sessions. The baseline belongs to the patient's first session of all; the other kinds to each course."""
    items: list[Due] = []
    live_by_course = {cid: sorted((s for s in sessions if not s.cancelled), key=lambda s: (anchor(s, tz), s.number))
                      for cid, _rules, sessions in courses}
    rules_by_course = {cid: rules for cid, rules, _sessions in courses}
    firsts = [(anchor(ss[0], tz), cid) for cid, ss in live_by_course.items() if ss]
    first_course = min(firsts)[1] if firsts else None
    anchors = sorted(anchor(s, tz) for ss in live_by_course.values() for s in ss)
    for cid, live in live_by_course.items():
        rules = rules_by_course[cid]
        for i, s in enumerate(live):
            at = anchor(s, tz)
            if i == 0 and cid == first_course:
                if Kind.BASELINE in rules.kinds:
                    items.append(_due(Kind.BASELINE, "baseline", at, rules, course_id=cid, number=s.number))
            elif Kind.PRE_DOSE in rules.kinds:
                items.append(_due(Kind.PRE_DOSE, f"pre:{cid}:{s.number}", at, rules, course_id=cid, number=s.number))
            if s.dosed_at is not None:
                for kind, hours in ((Kind.POST_2H, 2), (Kind.POST_24H, 24)):
                    if kind in rules.kinds:
                        items.append(_due(kind, f"{kind.value}:{cid}:{s.number}", at + dt.timedelta(hours=hours),
                                          rules, course_id=cid, number=s.number))
        intervals: list[Due] = []
        series = [s for s in live if s.phase != MAINTENANCE_PHASE]
        if series and Kind.FOLLOW_UP in rules.kinds:
            last = anchor(series[-1], tz)
            intervals += [_due(Kind.FOLLOW_UP, f"follow_up:{cid}:{k}", last + dt.timedelta(weeks=k), rules,
                               course_id=cid, number=None) for k in range(1, rules.follow_up_weeks + 1)]
        maintenance = [s for s in live if s.phase == MAINTENANCE_PHASE]
        if maintenance and Kind.MAINTENANCE in rules.kinds:
            start, end = anchor(maintenance[0], tz), anchor(maintenance[-1], tz)
            step = dt.timedelta(days=rules.maintenance_every_days)
            k = 1
            while start + (k - 1) * step <= end:
                intervals.append(_due(Kind.MAINTENANCE, f"maintenance:{cid}:{k}", start + k * step, rules,
                                      course_id=cid, number=None))
                k += 1
        kept: list[Due] = []
        for item in intervals:
            near_session = any(abs(item.target_at - a) < DEDUPE for a in anchors)
            near_kept = any(abs(item.target_at - other.target_at) < DEDUPE for other in kept)
            if not near_session and not near_kept:
                kept.append(item)
        items += kept
    return tuple(sorted(items, key=lambda d: (d.target_at, d.key)))


class ItemState(StrEnum):
    UPCOMING = "upcoming"  # not open yet
    OPEN = "open"  # open, not yet due
    OVERDUE = "overdue"  # past due, still open
    EXPIRED = "expired"  # closed unanswered
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def item_state(*, opens_at: dt.datetime, due_at: dt.datetime, expires_at: dt.datetime, completed: bool,
               cancelled: bool, now: dt.datetime) -> ItemState:
    """Where one item stands at `now`."""
    if completed:
        return ItemState.COMPLETED
    if cancelled:
        return ItemState.CANCELLED
    if now < opens_at:
        return ItemState.UPCOMING
    if now >= expires_at:
        return ItemState.EXPIRED
    return ItemState.OPEN if now <= due_at else ItemState.OVERDUE
