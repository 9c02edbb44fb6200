"""The one rule for when a clinical event can have happened: every timestamp and date typed or sent in is checked
here, by the API schemas (`core/schemas.py`), the forms and the services, against the patient's birth date and
`clock.now()`.

The bounds, and why:

- **Not before 1900-01-01** (`EARLIEST`). Nobody alive was born earlier (the oldest verified person lived 122
  years), so nothing clinical about them can have happened earlier; it is also the date-of-birth floor
  (`patients/validators.py`). It keeps every value far from the ends of Python's calendar (year 1 cannot be shown in
  a time zone west of UTC: the pages that showed it failed for good).
- **Not before the patient's birth date.** A measurement, an answer or an event of a patient cannot predate them.
  History imported from elsewhere may be decades old, so there is no "since the clinic opened" rule.
- **Not more than `CLOCK_TOLERANCE` (5 minutes) in the future** for a moment that happened (vital signs, answers,
  doses, events): the clocks of tablets and servers drift a little; more than that is a typo.
- **Dates of events** (onset, measured, received) are not after today; **planned dates** (a course start, a
  document taking effect) may be up to `PLAN_HORIZON` (about two years) ahead and not before 1900.
- A moment must carry a time zone; a naive one is read in the clinic's zone by the caller before it comes here.

Pure Python (the clinic's zone is passed in as `tz`), so the domain layer may call it too.
"""

import datetime as dt
from dataclasses import dataclass

EARLIEST = dt.date(1900, 1, 1)
EARLIEST_MOMENT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
CLOCK_TOLERANCE = dt.timedelta(minutes=5)
PLAN_HORIZON = dt.timedelta(days=731)


@dataclass(frozen=True)
class Implausible(Exception):
    """A date or time outside the plausible window; `message` is said to the person who entered it."""

    message: str

    def __str__(self) -> str:
        return self.message


def _fmt(day: dt.date) -> str:
    return day.isoformat()


def check_moment(value: dt.datetime, *, now: dt.datetime, born_on: dt.date | None = None,
                 tz: dt.tzinfo | None = None) -> None:
    """Raise Implausible unless `value` (aware) lies between the patient's birth (or 1900) and now + 5 minutes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Implausible("Give a time zone with the time (e.g. 2026-03-02T14:00:00-05:00).")
    if value < EARLIEST_MOMENT:
        raise Implausible(f"This time is before {_fmt(EARLIEST)}: check the year.")
    if value > now + CLOCK_TOLERANCE:
        raise Implausible("This time is in the future.")
    if born_on is not None:
        local_day = value.astimezone(tz).date() if tz is not None else value.date()
        if local_day < born_on:
            raise Implausible(f"This time is before the patient's date of birth ({_fmt(born_on)}).")


def check_event_date(value: dt.date, *, today: dt.date, born_on: dt.date | None = None) -> None:
    """Raise Implausible unless the date of something that happened lies between birth (or 1900) and today."""
    if value < EARLIEST:
        raise Implausible(f"This date is before {_fmt(EARLIEST)}: check the year.")
    if value > today:
        raise Implausible("This date is in the future.")
    if born_on is not None and value < born_on:
        raise Implausible(f"This date is before the patient's date of birth ({_fmt(born_on)}).")


def check_planned_date(value: dt.date, *, today: dt.date, born_on: dt.date | None = None) -> None:
    """Raise Implausible unless a planned or effective date lies between birth (or 1900) and about two years ahead."""
    if value < EARLIEST:
        raise Implausible(f"This date is before {_fmt(EARLIEST)}: check the year.")
    if value > today + PLAN_HORIZON:
        raise Implausible(f"This date is more than two years ahead (after {_fmt(today + PLAN_HORIZON)}).")
    if born_on is not None and value < born_on:
        raise Implausible(f"This date is before the patient's date of birth ({_fmt(born_on)}).")


def check_any_date(value: dt.date, *, today: dt.date) -> None:
    """The outer bound every date input gets in the API schema: 1900 to about two years ahead."""
    check_planned_date(value, today=today)


def check_any_moment(value: dt.datetime, *, now: dt.datetime) -> None:
    """The outer bound every timestamp input gets in the API schema (no patient known yet): 1900 to now + 5 min."""
    check_moment(value, now=now)


def event_problems(values: dict[str, dt.date | dt.datetime | None], *, now: dt.datetime, today: dt.date,
                   born_on: dt.date | None, tz: dt.tzinfo | None = None) -> dict[str, str]:
    """{field: message} for each moment or event date of `values` outside the patient's window (None is skipped)."""
    problems = {}
    for field, value in values.items():
        try:
            if isinstance(value, dt.datetime):
                check_moment(value, now=now, born_on=born_on, tz=tz)
            elif isinstance(value, dt.date):
                check_event_date(value, today=today, born_on=born_on)
        except Implausible as exc:
            problems[field] = str(exc)
    return problems


LATEST_SHOWN = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def shown(value: dt.datetime) -> bool:
    """Whether a stored moment can be plotted and converted for display at all (a row written before this rule, or
    behind the services, may hold year 1). Readers skip or mark the others rather than fail on them."""
    return value.tzinfo is not None and EARLIEST_MOMENT <= value <= LATEST_SHOWN
