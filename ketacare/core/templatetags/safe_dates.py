"""Dates on pages never raise (issue 16 point 1): Django's `date`, `time`, `timesince` and `timeuntil` filters,
wrapped so that a stored value outside the plausible window (core/plausible.py) or beyond what the clinic's time zone
can show (year 1 west of UTC) is printed as a marker instead of taking the whole chart down with an OverflowError.

Loaded as a template builtin (config/settings.py), so every template gets these in place of Django's own.
"""

import datetime as dt

from django import template
from django.template import defaultfilters
from django.utils import timezone

from ketacare.core import plausible

register = template.Library()

MARKER = "(date out of range)"


def _showable(value) -> bool:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return plausible.EARLIEST_MOMENT <= value <= dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
        return plausible.EARLIEST.year <= value.year < 9000
    if isinstance(value, dt.date):
        return plausible.EARLIEST.year <= value.year < 9000
    return True


def _local(value):
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _guarded(django_filter):
    def guarded(value, arg=None):
        if not _showable(value):
            return MARKER
        try:
            return django_filter(_local(value), arg) if arg is not None else django_filter(_local(value))
        except (OverflowError, ValueError):
            return MARKER
    guarded.__name__ = django_filter.__name__
    guarded.__doc__ = f"Django's `{django_filter.__name__}`, printing {MARKER!r} rather than raising."
    return guarded


# expects_localtime is off: the conversion happens inside, where an overflow is caught.
for _name in ("date", "time", "timesince", "timeuntil"):
    register.filter(_name, _guarded(getattr(defaultfilters, _name if _name not in ("timesince", "timeuntil")
                                            else f"{_name}_filter")), is_safe=False)


@register.filter
def safe_when(value):
    """A datetime or date as is (no format), or the marker when it cannot be shown."""
    return value if _showable(value) else MARKER
