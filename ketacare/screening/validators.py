"""Field rules for intake and consent input: refused input gets a message that says what is wrong. The window is the
one plausible window of every clinical date (core/plausible.py); the services add the patient's birth date."""

from django.core.exceptions import ValidationError

from ketacare.core import clock, plausible

CLOCK_TOLERANCE = plausible.CLOCK_TOLERANCE


def validate_not_future_date(value) -> None:
    try:
        plausible.check_event_date(value, today=clock.today())
    except plausible.Implausible as exc:
        raise ValidationError(str(exc), code="implausible_date") from None


def validate_not_future_moment(value) -> None:
    try:
        plausible.check_moment(value, now=clock.now())
    except plausible.Implausible as exc:
        raise ValidationError(str(exc), code="implausible_time") from None


def validate_planned_date(value) -> None:
    """A date something takes effect or is planned for: 1900 to about two years ahead."""
    try:
        plausible.check_planned_date(value, today=clock.today())
    except plausible.Implausible as exc:
        raise ValidationError(str(exc), code="implausible_date") from None
