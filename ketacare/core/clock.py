"""The one source of "now" for services (tests move it with time-machine)."""

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today() -> dt.date:
    return timezone.localdate()


def local(value: dt.datetime) -> dt.datetime:
    """A stored moment in the clinic's zone, for display. A moment the zone cannot hold (year 1 west of UTC, written
    before core/plausible.py refused it) stays in UTC instead of raising, so one bad row cannot break a page."""
    try:
        return timezone.localtime(value)
    except OverflowError:
        return value.astimezone(dt.UTC)


def local_date(value: dt.datetime) -> dt.date:
    """The clinic-local date of a stored moment (see `local`)."""
    return local(value).date()
