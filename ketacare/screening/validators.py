"""Field rules for intake and consent input: refused input gets a message that says what is wrong."""

import datetime as dt

from django.core.exceptions import ValidationError

from ketacare.core import clock

# Clocks of tablets and servers drift a little; a measurement "in the future" by more than this is a typo.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)


def validate_not_future_date(value: dt.date) -> None:
    if value > clock.today():
        raise ValidationError("This date is in the future.", code="future_date")


def validate_not_future_moment(value: dt.datetime) -> None:
    if value > clock.now() + CLOCK_TOLERANCE:
        raise ValidationError("This time is in the future.", code="future_time")

