"""Dose calculations shown with their working, and the check of a dose against its protocol.

Sources:
- docs/domain/iv-ketamine.md §1 (store mg/kg, dosing weight and basis, total mg, infusion minutes, rate; refuse an
  order above the clinic maxima), §1.1 (basis actual | ideal | adjusted must be explicit; Devine IBW =
  50 (men) or 45.5 (women) + 2.3 x (height in inches - 60) [U: standard pharmacy formula, not retrieved]).
- docs/domain/esketamine-and-rems.md §1 (28 mg per device; 28/56/84 mg = 1/2/3 devices; 5 min after each device),
  §3.1-3.2 (first dose; 28 mg steps).
Adjusted body weight (IBW + factor x (actual - IBW)) is not in the domain files: the factor is a protocol value
(default 0.4, [U] common pharmacy convention).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from ketacare.core.errors import DomainError
from ketacare.screening.domain.units import HEIGHT_CM, WEIGHT_KG
from ketacare.treatment.domain.protocols import (
    SPRAVATO_DEVICE_MG,
    SPRAVATO_MINUTES_BETWEEN_DEVICES,
    SPRAVATO_VALID_DOSES_MG,
    DeviceDoseRule,
    Protocol,
    WeightBasedDoseRule,
)

KG = Decimal("0.1")  # display precision, not clinical thresholds
MG = Decimal("0.1")
ML = Decimal("0.01")
RATE = Decimal("0.01")
CM_PER_INCH = Decimal("2.54")


class DoseRefused(DomainError):
    """The dose cannot be given as ordered."""

    code = "dose.refused"


class WeightBasis(StrEnum):
    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


class Sex(StrEnum):
    """Sex for the Devine formula, which has only these two constants."""

    MALE = "male"
    FEMALE = "female"


DEVINE_BASE_KG = {Sex.MALE: Decimal(50), Sex.FEMALE: Decimal("45.5")}
DEVINE_KG_PER_INCH = Decimal("2.3")
DEVINE_BASE_INCHES = Decimal(60)
# An ideal-body-weight dose below this fraction of the actual-weight dose needs the prescriber's acknowledgement
# (an override with a reason). iv-ketamine.md §1.1 gives no number: clinic policy [U] ("no published threshold").
IDEAL_WEIGHT_WARN_BELOW_FRACTION = Decimal("0.7")


def _q(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class DosingWeight:
    basis: WeightBasis
    kg: Decimal
    working: tuple[str, ...]


def ideal_body_weight_kg(height_cm: Decimal, sex: Sex) -> tuple[Decimal, str]:
    """Devine IBW, with the line of working."""
    inches = height_cm / CM_PER_INCH
    ibw = _q(DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH * (inches - DEVINE_BASE_INCHES), KG)
    if ibw <= 0:
        raise DoseRefused(f"height {height_cm} cm gives no usable ideal body weight")
    return ibw, (f"IBW (Devine, {sex}): {DEVINE_BASE_KG[sex]} + {DEVINE_KG_PER_INCH} x "
                 f"({_q(inches, Decimal('0.01'))} in - {DEVINE_BASE_INCHES}) = {ibw} kg")


def dosing_weight(basis: WeightBasis, *, actual_kg: Decimal, height_cm: Decimal | None = None,
                  sex: Sex | None = None, adjusted_factor: Decimal | None = None) -> DosingWeight:
    """The weight a mg/kg dose is calculated on, on an explicit basis."""
    if not WEIGHT_KG.contains(actual_kg):
        raise DoseRefused(f"actual weight {actual_kg} kg is outside the human range {WEIGHT_KG.low}-"
                          f"{WEIGHT_KG.high} kg: check the value and its unit")
    if height_cm is not None and not HEIGHT_CM.contains(height_cm):
        raise DoseRefused(f"height {height_cm} cm is outside the human range {HEIGHT_CM.low}-{HEIGHT_CM.high} cm: "
                          "check the value and its unit")
    actual_line = f"actual body weight {actual_kg} kg"
    if basis is WeightBasis.ACTUAL:
        return DosingWeight(basis, actual_kg, (f"dosing weight: {actual_line}",))
    if height_cm is None or sex is None:
        raise DoseRefused(f"{basis} body weight needs height and sex")
    ibw, ibw_line = ideal_body_weight_kg(height_cm, sex)
    if basis is WeightBasis.IDEAL:
        return DosingWeight(basis, ibw, (actual_line, ibw_line, f"dosing weight: ideal body weight {ibw} kg"))
    if adjusted_factor is None:
        raise DoseRefused("adjusted body weight needs the protocol's adjustment factor")
    adjusted = _q(ibw + adjusted_factor * (actual_kg - ibw), KG)
    return DosingWeight(basis, adjusted, (
        actual_line, ibw_line,
        f"adjusted body weight: {ibw} + {adjusted_factor} x ({actual_kg} - {ibw}) = {adjusted} kg",
        f"dosing weight: adjusted body weight {adjusted} kg"))


@dataclass(frozen=True)
class IvDose:
    mg: Decimal
    ml: Decimal
    mg_per_min: Decimal
    ml_per_h: Decimal
    working: tuple[str, ...]


def iv_dose(*, weight: DosingWeight, mg_per_kg: Decimal, concentration_mg_per_ml: Decimal,
            infusion_minutes: int, max_mg: Decimal) -> IvDose:
    """Total mg, volume and pump rates; refused (never capped) when the dose is above the hard maximum."""
    if mg_per_kg <= 0 or concentration_mg_per_ml <= 0 or infusion_minutes <= 0:
        raise DoseRefused("mg/kg, concentration and infusion minutes must be positive")
    mg = _q(mg_per_kg * weight.kg, MG)
    working = [*weight.working, f"dose: {mg_per_kg} mg/kg x {weight.kg} kg = {mg} mg"]
    if mg > max_mg:
        raise DoseRefused(f"{mg} mg is above the hard maximum of {max_mg} mg", working=working)
    working.append(f"maximum: {mg} mg <= {max_mg} mg")
    ml = _q(mg / concentration_mg_per_ml, ML)
    mg_per_min = _q(mg / infusion_minutes, RATE)
    ml_per_h = _q(mg / concentration_mg_per_ml * 60 / infusion_minutes, RATE)
    working += [
        f"volume: {mg} mg / {concentration_mg_per_ml} mg/mL = {ml} mL",
        f"rate: {mg} mg / {infusion_minutes} min = {mg_per_min} mg/min",
        f"pump rate: {mg} mg / {concentration_mg_per_ml} mg/mL x 60 / {infusion_minutes} min = {ml_per_h} mL/h",
    ]
    return IvDose(mg=mg, ml=ml, mg_per_min=mg_per_min, ml_per_h=ml_per_h, working=tuple(working))


@dataclass(frozen=True)
class DeviceDose:
    number: int  # 1-based
    mg: Decimal
    scheduled_at: dt.datetime


def esketamine_devices(dose_mg: Decimal, first_at: dt.datetime, *, device_mg: Decimal = SPRAVATO_DEVICE_MG,
                       valid_doses_mg: Sequence[Decimal] = SPRAVATO_VALID_DOSES_MG,
                       minutes_between: int = SPRAVATO_MINUTES_BETWEEN_DEVICES) -> tuple[DeviceDose, ...]:
    """One 28 mg device per step, each scheduled `minutes_between` after the previous one."""
    if dose_mg not in valid_doses_mg or dose_mg % device_mg:
        raise DoseRefused(f"{dose_mg} mg is not a whole number of {device_mg} mg devices among "
                          f"{', '.join(str(d) for d in valid_doses_mg)} mg")
    count = int(dose_mg / device_mg)
    return tuple(DeviceDose(n + 1, device_mg, first_at + dt.timedelta(minutes=n * minutes_between))
                 for n in range(count))


def device_gap_warnings(given_at: Sequence[dt.datetime],
                        minutes_between: int = SPRAVATO_MINUTES_BETWEEN_DEVICES) -> list[str]:
    """Warn for each device given less than `minutes_between` after the previous one (exactly 5 min is fine)."""
    gap = dt.timedelta(minutes=minutes_between)
    return [f"device {i + 2} given {minutes_text(b - a)} after device {i + 1} "
            f"(at least {minutes_between} min)"
            for i, (a, b) in enumerate(itertools.pairwise(given_at)) if b - a < gap]


def devices_due(given_at: Sequence[dt.datetime], device_count: int,
                minutes_between: int = SPRAVATO_MINUTES_BETWEEN_DEVICES) -> list[dt.datetime | None]:
    """When each device not yet given is due: `minutes_between` after the previous device (the label's 5 min), so
    the next one counts from the last one given and each later one adds one gap; None before the first device."""
    gap = dt.timedelta(minutes=minutes_between)
    due: list[dt.datetime | None] = []
    last = given_at[-1] if given_at else None
    for _n in range(len(given_at), device_count):
        last = last + gap if last is not None else None
        due.append(last)
    return due


def early_by(given_at: Sequence[dt.datetime], at: dt.datetime,
             minutes_between: int = SPRAVATO_MINUTES_BETWEEN_DEVICES) -> dt.timedelta | None:
    """How much earlier than due a device given at `at` would be (None when it is not early, or is the first)."""
    if not given_at:
        return None
    due = given_at[-1] + dt.timedelta(minutes=minutes_between)
    return due - at if at < due else None


def minutes_text(delta: dt.timedelta) -> str:
    """A short duration in words: "45 s", "4 min", "4 min 30 s" (never fractions of a minute)."""
    seconds = max(0, round(delta.total_seconds()))
    minutes, rest = divmod(seconds, 60)
    if minutes == 0:
        return f"{rest} s"
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"


@dataclass(frozen=True)
class DoseIssue:
    code: str
    message: str
    overridable: bool = True


@dataclass(frozen=True)
class DoseOverride:
    """A prescriber's explicit decision to give a dose outside the protocol."""

    prescriber: str
    reason: str

    def __post_init__(self) -> None:
        if not self.prescriber.strip() or not self.reason.strip():
            raise DoseRefused("an override needs the prescriber and a reason")


@dataclass(frozen=True)
class DoseCheck:
    issues: tuple[DoseIssue, ...] = ()

    @property
    def refused(self) -> bool:
        return any(not i.overridable for i in self.issues)

    @property
    def needs_override(self) -> bool:
        return bool(self.issues) and not self.refused

    def allows(self, override: DoseOverride | None) -> bool:
        return not self.refused and (not self.issues or override is not None)


def ideal_weight_far_below_actual(weight: DosingWeight | None, actual_kg: Decimal | None) -> DoseIssue | None:
    """An ideal-body-weight dose far below the actual-weight dose (below IDEAL_WEIGHT_WARN_BELOW_FRACTION of it):
    a warning the prescriber must acknowledge (iv-ketamine.md §1.1: the basis changes the dose materially)."""
    if weight is None or actual_kg is None or weight.basis is not WeightBasis.IDEAL or actual_kg <= 0:
        return None
    fraction = weight.kg / actual_kg
    if fraction >= IDEAL_WEIGHT_WARN_BELOW_FRACTION:
        return None
    percent = _q(fraction * 100, Decimal(1))
    return DoseIssue("dose.ideal_weight_far_below_actual",
                     f"the ideal body weight {weight.kg} kg is {percent} % of the actual {actual_kg} kg (below "
                     f"{_q(IDEAL_WEIGHT_WARN_BELOW_FRACTION * 100, Decimal(1))} %, clinic policy): the dose is "
                     "correspondingly lower; acknowledge it with a reason")


def dose_check(protocol: Protocol, *, dose_mg: Decimal, mg_per_kg: Decimal | None = None,
               infusion_minutes: int | None = None, first_in_course: bool = False,
               previous_dose_mg: Decimal | None = None, weight: DosingWeight | None = None,
               actual_kg: Decimal | None = None) -> DoseCheck:
    """Why a dose is outside the protocol: overridable issues need a prescriber override; others refuse it."""
    rule = protocol.dose_rule
    issues: list[DoseIssue] = []
    if isinstance(rule, WeightBasedDoseRule):
        if mg_per_kg is None or infusion_minutes is None:
            raise DoseRefused("an IV dose check needs mg/kg and infusion minutes")
        if issue := ideal_weight_far_below_actual(weight, actual_kg):
            issues.append(issue)
        if dose_mg > rule.max_total_mg:
            issues.append(DoseIssue("dose.above_hard_maximum",
                                    f"{dose_mg} mg is above the hard maximum of {rule.max_total_mg} mg", False))
        if not rule.min_mg_per_kg <= mg_per_kg <= rule.max_mg_per_kg:
            issues.append(DoseIssue("dose.mg_per_kg_outside_protocol",
                                    f"{mg_per_kg} mg/kg is outside {rule.min_mg_per_kg}-{rule.max_mg_per_kg} mg/kg"))
        if infusion_minutes < rule.min_infusion_minutes:
            issues.append(DoseIssue("dose.infusion_too_short",
                                    f"{infusion_minutes} min is shorter than {rule.min_infusion_minutes} min"))
    elif isinstance(rule, DeviceDoseRule):
        if dose_mg not in rule.valid_doses_mg:
            issues.append(DoseIssue("dose.not_whole_devices",
                                    f"{dose_mg} mg is not 28, 56 or 84 mg (whole 28 mg devices)", False))
        elif dose_mg not in rule.allowed_doses_mg:
            issues.append(DoseIssue("dose.outside_protocol", f"{dose_mg} mg is not among the protocol's doses "
                                    f"({', '.join(str(d) for d in rule.allowed_doses_mg)} mg)"))
        if first_in_course and dose_mg != rule.first_dose_mg:
            issues.append(DoseIssue("dose.first_dose_differs",
                                    f"the first dose of this protocol is {rule.first_dose_mg} mg, not {dose_mg} mg"))
        if previous_dose_mg is not None and abs(dose_mg - previous_dose_mg) > rule.device_mg:
            issues.append(DoseIssue("dose.step_too_large", f"change from {previous_dose_mg} mg to {dose_mg} mg "
                                    f"is more than one {rule.device_mg} mg step"))
    else:
        raise DoseRefused(f"protocol {protocol.ref} gives no dose")
    return DoseCheck(tuple(issues))
