"""Body weight and height: exact unit conversion to SI, plausibility checks, BMI.

Source: docs/domain/iv-ketamine.md §1 and §1.1 (IV dose is weight-based, 0.5 mg/kg; the dosing weight and its
basis must be explicit) and docs/domain/fhir-mapping.md (body weight in kg, height in cm).
Conversion factors are exact by definition (international yard and pound agreement, 1959):
1 lb = 0.45359237 kg and 1 in = 2.54 cm. Values are Decimal end to end and are not rounded on conversion;
only BMI is rounded, to one decimal place, for display.

The plausible ranges are input-sanity bounds for an adult clinic (catching typos and wrong units), not clinical
thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ketacare.core.errors import DomainError

KG_PER_LB = Decimal("0.45359237")
CM_PER_IN = Decimal("2.54")


class FactError(DomainError):
    """An intake fact was refused; `field` names the fact so a form can show the message next to it."""

    code = "invalid_fact"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"FactError({self.field!r}, {self.message!r})"


@dataclass(frozen=True)
class Limits:
    """Inclusive plausible range for an input value."""

    low: Decimal
    high: Decimal
    unit: str

    def contains(self, value: Decimal) -> bool:
        return self.low <= value <= self.high


WEIGHT_KG = Limits(Decimal("20"), Decimal("400"), "kg")
HEIGHT_CM = Limits(Decimal("90"), Decimal("250"), "cm")


def to_decimal(value: Decimal | int | str, *, field: str) -> Decimal:
    """Parse a finite Decimal. Floats are refused: they cannot represent most decimal inputs exactly."""
    if isinstance(value, bool) or isinstance(value, float):
        raise FactError(field, "must be a Decimal, an integer or a numeric string, not a float")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise FactError(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise FactError(field, f"{value!r} is not a finite number")
    return number


def weight_to_kg(value: Decimal | int | str, unit: str, *, field: str = "weight_kg") -> Decimal:
    """Convert a weight entered in kg or lb to kg, exactly, and check it is plausible."""
    number = to_decimal(value, field=field)
    match unit.strip().lower():
        case "kg":
            kg = number
        case "lb" | "lbs":
            kg = number * KG_PER_LB
        case _:
            raise FactError(field, f"unknown weight unit {unit!r}; use kg or lb")
    check_weight_kg(kg, field=field)
    return kg


def height_to_cm(value: Decimal | int | str, unit: str, *, field: str = "height_cm") -> Decimal:
    """Convert a height entered in cm or inches to cm, exactly, and check it is plausible."""
    number = to_decimal(value, field=field)
    match unit.strip().lower():
        case "cm":
            cm = number
        case "in" | "inch" | "inches":
            cm = number * CM_PER_IN
        case _:
            raise FactError(field, f"unknown height unit {unit!r}; use cm or in")
    check_height_cm(cm, field=field)
    return cm


def check_weight_kg(kg: Decimal, *, field: str = "weight_kg") -> None:
    if not WEIGHT_KG.contains(kg):
        hint = ""
        if kg > WEIGHT_KG.high and WEIGHT_KG.contains(kg * KG_PER_LB):
            hint = "; was it entered in lb?"
        raise FactError(field, f"{kg} kg is outside the plausible range {_range(WEIGHT_KG)}{hint}")


def check_height_cm(cm: Decimal, *, field: str = "height_cm") -> None:
    if not HEIGHT_CM.contains(cm):
        if cm < HEIGHT_CM.low and HEIGHT_CM.contains(cm * CM_PER_IN):
            hint = "; was it entered in inches?"
        elif cm > HEIGHT_CM.high and HEIGHT_CM.contains(cm / CM_PER_IN):
            hint = "; was it entered in cm but labelled inches?"
        else:
            hint = ""
        raise FactError(field, f"{cm} cm is outside the plausible range {_range(HEIGHT_CM)}{hint}")


def bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """Body-mass index in kg/m², rounded half-up to one decimal place."""
    check_weight_kg(weight_kg)
    check_height_cm(height_cm)
    height_m = height_cm / 100
    return (weight_kg / (height_m * height_m)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _range(limits: Limits) -> str:
    return f"{limits.low}-{limits.high} {limits.unit}"
