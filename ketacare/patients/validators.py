"""Field rules for patient identity: refused input gets a message that says what is wrong."""

import datetime as dt
import re

from django.core.exceptions import ValidationError

from ketacare.core import clock, plausible
from ketacare.core.text import text_problem

NAME_RE = re.compile(r"^[^\W\d_]([^\W\d_]|[ .'\-’])*$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-.]{6,19}$")
ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
MRN_RE = re.compile(r"^[A-Za-z0-9\-]{1,32}$")
OLDEST_BIRTH_YEAR = plausible.EARLIEST.year


def validate_person_name(value: str) -> None:
    if not NAME_RE.match(value):
        raise ValidationError("Use letters, spaces, hyphens, apostrophes and full stops only.", code="invalid_name")


def validate_no_markup(value: str) -> None:
    """One line of plain text: the text rule (core/text.py, single-line) and no angle brackets."""
    if "<" in value or ">" in value:
        raise ValidationError("Angle brackets (< >) are not allowed here.", code="markup")
    if problem := text_problem(value, multiline=False, max_length=len(value)):
        raise ValidationError(problem, code="control_chars")


def validate_phone(value: str) -> None:
    if not PHONE_RE.match(value):
        raise ValidationError("Enter a phone number of 7 to 20 digits, e.g. +1 617 555 0100.", code="invalid_phone")


def validate_zip(value: str) -> None:
    if not ZIP_RE.match(value):
        raise ValidationError("Enter a 5-digit ZIP code (or ZIP+4, e.g. 02115-1234).", code="invalid_zip")


def validate_mrn(value: str) -> None:
    if not MRN_RE.match(value):
        raise ValidationError("MRN: letters, digits and hyphens only, at most 32.", code="invalid_mrn")


def validate_birth_date(value: dt.date) -> None:
    today = clock.today()
    if value > today:
        raise ValidationError("Date of birth cannot be in the future.", code="future_date")
    if value.year < OLDEST_BIRTH_YEAR:
        raise ValidationError(f"Date of birth must be in {OLDEST_BIRTH_YEAR} or later.", code="too_old")
