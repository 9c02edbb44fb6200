"""Treatment protocols as versioned data, with the shipped defaults and validated clinic overrides.

Sources (each default names its own; [C]/[S]/[U] tags as in the domain files):
- docs/domain/iv-ketamine.md §1 (0.5 mg/kg over 40 min; 0.1-0.75 mg/kg reported; ASKP3 40-60 min; clinic
  maxima), §1.1 (explicit dosing-weight basis), §2 (induction 6 infusions 3x weekly over 12 days; maintenance
  individualized; ASA 2025 defined course), §6 (vitals every 10-15 min during, every 15 min after; discharge criteria).
- docs/domain/esketamine-and-rems.md §1 (28 mg devices, 5 min apart; 28/56/84 mg), §3.1-3.2 (TRD and MDSI
  schedules and doses), §3.4 (transport home), §5 (embryo-fetal toxicity), §6 (BP at 40 min and before the end),
  §7 (observation ≥ 2 h from the first device; discharge criteria), §8.3 (REMS patient enrollment and PMF).
- docs/domain/evidence.md §6 (assessment time points: pre-dose PHQ-9/GAD-7/C-SSRS; VAS-anxiety at 2-4 h; 24 h).

A protocol published as `key@version` never changes; a clinic's changes go through `with_overrides`, which
re-validates the label floors (e.g. esketamine observation can never drop below 120 minutes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ketacare.core.errors import DomainError
from ketacare.treatment.domain.schedule import Phase
from ketacare.treatment.domain.vitals import Thresholds, VitalsSchedule


class Route(StrEnum):
    INTRAVENOUS = "iv"
    INTRANASAL = "intranasal"
    NONE = "none"  # psychotherapy / integration: no drug given


class ProtocolInvalid(DomainError):
    """The protocol or the clinic's override breaks a rule."""

    code = "protocol.invalid"


@dataclass(frozen=True)
class WeightBasedDoseRule:
    """IV racemic ketamine: mg/kg on an explicit dosing-weight basis, infused over a set time."""

    mg_per_kg: Decimal = Decimal("0.5")  # [C] Andrade 2017 (iv-ketamine.md §1)
    min_mg_per_kg: Decimal = Decimal("0.1")  # range reported 0.1-0.75 mg/kg [C] Andrade 2017
    max_mg_per_kg: Decimal = Decimal("0.75")
    infusion_minutes: int = 40  # [C] Andrade 2017
    min_infusion_minutes: int = 40  # ASKP3 basics 40-60 min [S]; shorter = faster rate -> override
    # Hard maximum per infusion, never overridable. [U] placeholder: no source gives a number
    # ("refuse an order whose total dose exceeds clinic-configured maxima", iv-ketamine.md §1).
    max_total_mg: Decimal = Decimal(100)
    # Adjusted body weight = IBW + factor x (actual - IBW). [U] common pharmacy convention, not in the domain files.
    adjusted_weight_factor: Decimal = Decimal("0.4")

    def __post_init__(self) -> None:
        if not Decimal(0) < self.min_mg_per_kg <= self.mg_per_kg <= self.max_mg_per_kg:
            raise ProtocolInvalid("need 0 < min mg/kg <= mg/kg <= max mg/kg")
        if not 0 < self.min_infusion_minutes <= self.infusion_minutes:
            raise ProtocolInvalid("need 0 < minimum infusion minutes <= infusion minutes")
        if self.max_total_mg <= 0:
            raise ProtocolInvalid("the hard maximum must be positive")
        if not Decimal(0) <= self.adjusted_weight_factor <= Decimal(1):
            raise ProtocolInvalid("the adjusted-weight factor must be between 0 and 1")


# Product facts of the SPRAVATO device (esketamine-and-rems.md §1 [C]); not clinic-configurable.
SPRAVATO_DEVICE_MG = Decimal(28)
SPRAVATO_VALID_DOSES_MG = (Decimal(28), Decimal(56), Decimal(84))
SPRAVATO_MINUTES_BETWEEN_DEVICES = 5


@dataclass(frozen=True)
class DeviceDoseRule:
    """Esketamine nasal spray: whole 28 mg devices, one every 5 minutes."""

    allowed_doses_mg: tuple[Decimal, ...]  # doses within this protocol
    first_dose_mg: Decimal  # dose at the first session of the course
    device_mg: Decimal = SPRAVATO_DEVICE_MG
    valid_doses_mg: tuple[Decimal, ...] = SPRAVATO_VALID_DOSES_MG
    minutes_between_devices: int = SPRAVATO_MINUTES_BETWEEN_DEVICES

    def __post_init__(self) -> None:
        if self.device_mg != SPRAVATO_DEVICE_MG or self.valid_doses_mg != SPRAVATO_VALID_DOSES_MG:
            raise ProtocolInvalid("device strength and valid doses are product facts (28 mg; 28/56/84 mg)")
        if self.minutes_between_devices < SPRAVATO_MINUTES_BETWEEN_DEVICES:
            raise ProtocolInvalid("the label requires at least 5 minutes between devices")
        if not self.allowed_doses_mg or not set(self.allowed_doses_mg) <= set(self.valid_doses_mg):
            raise ProtocolInvalid("allowed doses must be among 28, 56 and 84 mg")
        if self.first_dose_mg not in self.allowed_doses_mg:
            raise ProtocolInvalid("the first dose must be one of the allowed doses")


@dataclass(frozen=True)
class QuestionnaireDue:
    """An instrument due at `offset_hours` from the first dose; negative or 0 means before the dose."""

    instrument: str
    offset_hours: int

    @property
    def pre_dose(self) -> bool:
        return self.offset_hours <= 0


# Discharge criteria keys (recorded by a clinician before discharge).
ESKETAMINE_DISCHARGE = ("sedation_resolved", "dissociation_resolved", "respiratory_status_normal",
                        "bp_acceptable", "ride_confirmed", "clinician_judged_stable")  # esketamine §7 [C]
IV_DISCHARGE = ("vitals_near_baseline", "alert_and_oriented", "escort_present")  # iv-ketamine.md §6 [C RCEM]

# Fields fixed by the label or by identity; `with_overrides` refuses them.
FIXED_FIELDS = frozenset({"key", "route", "observation_floor_minutes", "required_vitals_minutes", "sources"})


@dataclass(frozen=True)
class Protocol:
    key: str
    version: str
    title: str
    route: Route
    dose_rule: WeightBasedDoseRule | DeviceDoseRule | None
    phases: tuple[Phase, ...]
    vitals_schedule: VitalsSchedule
    thresholds: Thresholds
    observation_minimum_minutes: int  # clock starts at the first dose (first esketamine device / infusion start)
    discharge_criteria: tuple[str, ...]
    questionnaires: tuple[QuestionnaireDue, ...]
    requires_weight: bool
    requires_pregnancy_check: bool
    requires_escort: bool
    rems_enrollment_required: bool  # outpatient SPRAVATO: patient enrolled before the first dose (§8.3)
    rems_pmf_required: bool  # outpatient SPRAVATO: Patient Monitoring Form after every session (§8.3)
    # Pre-dose measures that must be present in the baseline reading.
    baseline_vitals_required: tuple[str, ...] = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct")
    observation_floor_minutes: int = 0  # label floor; overrides can never go below it
    required_vitals_minutes: tuple[int, ...] = ()  # label time points the schedule must keep
    sources: tuple[str, ...] = ()
    overridden: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        problems = []
        expected_rule = {Route.INTRAVENOUS: WeightBasedDoseRule, Route.INTRANASAL: DeviceDoseRule,
                         Route.NONE: type(None)}[self.route]
        if not isinstance(self.dose_rule, expected_rule):
            problems.append(f"route {self.route} needs a {expected_rule.__name__} dose rule")
        if self.observation_minimum_minutes < self.observation_floor_minutes:
            problems.append(f"observation minimum {self.observation_minimum_minutes} min is below the floor of "
                            f"{self.observation_floor_minutes} min")
        missing_points = set(self.required_vitals_minutes) - set(self.vitals_schedule.minutes)
        if missing_points:
            problems.append(f"vitals schedule must keep the time points {sorted(missing_points)} min")
        if problems:
            raise ProtocolInvalid("; ".join(problems), protocol=self.ref)

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"

    @property
    def involves_dose(self) -> bool:
        return self.route is not Route.NONE

    def pre_dose_questionnaires(self) -> frozenset[str]:
        return frozenset(q.instrument for q in self.questionnaires if q.pre_dose)

    def post_dose_questionnaires(self) -> tuple[QuestionnaireDue, ...]:
        return tuple(q for q in self.questionnaires if not q.pre_dose)


def with_overrides(protocol: Protocol, **clinic_values: Any) -> Protocol:
    """The protocol with a clinic's values, re-validated. Nested rules accept a dict of their own fields.

    e.g. with_overrides(p, observation_minimum_minutes=150, thresholds={"spo2_alert_below_pct": 94})
    """
    fields = {f.name for f in dataclasses.fields(Protocol)} - {"overridden"}
    unknown = set(clinic_values) - fields
    if unknown:
        raise ProtocolInvalid(f"unknown protocol fields: {sorted(unknown)}")
    fixed = set(clinic_values) & FIXED_FIELDS
    if fixed:
        raise ProtocolInvalid(f"fields fixed by the label or the protocol identity: {sorted(fixed)}")
    values: dict[str, Any] = {}
    for name, value in clinic_values.items():
        current = getattr(protocol, name)
        if isinstance(value, dict) and dataclasses.is_dataclass(current) and not isinstance(current, type):
            nested = {f.name for f in dataclasses.fields(current)}
            bad = set(value) - nested
            if bad:
                raise ProtocolInvalid(f"unknown {name} fields: {sorted(bad)}")
            try:
                value = dataclasses.replace(current, **value)
            except (ValueError, TypeError) as exc:
                raise ProtocolInvalid(f"{name}: {exc}") from exc
        values[name] = value
    try:
        return dataclasses.replace(protocol, **values, overridden=protocol.overridden | frozenset(values))
    except (ValueError, TypeError) as exc:
        raise ProtocolInvalid(str(exc)) from exc


# ---- Shipped defaults ----------------------------------------------------------------------------------------

_PRE_DOSE_CORE = (QuestionnaireDue("phq-9", 0), QuestionnaireDue("gad-7", 0), QuestionnaireDue("cssrs-screen", 0))

IV_KETAMINE_INDUCTION = Protocol(
    key="iv-ketamine-induction", version="1", title="IV racemic ketamine, induction series",
    route=Route.INTRAVENOUS, dose_rule=WeightBasedDoseRule(),
    # 6 infusions, 3x weekly over 12 days (days 0, 2, 4, 7, 9, 11) [C] Murrough 2013.
    phases=(Phase("induction", cycle_days=7, day_offsets=(0, 2, 4), cycles=2),),
    # Every 10 min during the 40-min infusion (40 = peak BP), every 15 min after [C] iv-ketamine.md §6.
    vitals_schedule=VitalsSchedule(minutes=(10, 20, 30, 40, 55, 70, 85, 100, 115)),
    thresholds=Thresholds(),
    # [U] clinic policy: no source sets an IV observation minimum; BP/HR back to baseline within 1.5 h
    # (Szarmach 2020, iv-ketamine.md §6), so 120 min from infusion start is a conservative default.
    observation_minimum_minutes=120,
    discharge_criteria=IV_DISCHARGE,
    # Pre-dose core; VAS-anxiety before and +2 h, Mini-SPIN +24 h (evidence.md §6: Taylor 2018, Glue).
    questionnaires=(*_PRE_DOSE_CORE, QuestionnaireDue("vas-anxiety", 0), QuestionnaireDue("vas-anxiety", 2),
                    QuestionnaireDue("mini-spin", 24)),
    requires_weight=True,
    requires_pregnancy_check=True,  # pregnancy/lactation excluded in trials [C] iv-ketamine.md §7
    requires_escort=True,  # responsible adult escort for discharge [C] iv-ketamine.md §6
    rems_enrollment_required=False, rems_pmf_required=False,
    sources=("iv-ketamine.md §1, §2, §6, §7", "evidence.md §6"),
)

IV_KETAMINE_MAINTENANCE = dataclasses.replace(
    IV_KETAMINE_INDUCTION,
    key="iv-ketamine-maintenance", title="IV racemic ketamine, maintenance",
    # No established schedule [C] Andrade 2017; every 14 days is a [U] placeholder chosen below the 18-day
    # median relapse after a series (Murrough 2013). Open-ended: the course sets how many.
    phases=(Phase("maintenance", cycle_days=14, day_offsets=(0,), cycles=None, allowed_cycle_days=(7, 21, 28)),),
    questionnaires=_PRE_DOSE_CORE,
)

ESKETAMINE_TRD = Protocol(
    key="esketamine-trd", version="1", title="Esketamine nasal spray (SPRAVATO), treatment-resistant depression",
    route=Route.INTRANASAL,
    # Day 1 56 mg, then 56 or 84 mg [C] esketamine-and-rems.md §3.1. 28 mg (HK geriatric start) needs an override
    # because a separate US geriatric dose was not confirmed [U].
    dose_rule=DeviceDoseRule(allowed_doses_mg=(Decimal(56), Decimal(84)), first_dose_mg=Decimal(56)),
    phases=(
        Phase("induction", cycle_days=7, day_offsets=(0, 3), cycles=4),  # weeks 1-4 twice weekly [C]
        Phase("weeks 5-8", cycle_days=7, day_offsets=(0,), cycles=4),  # once weekly [C]
        # Week 9+: every 2 weeks or weekly, least frequent that maintains response [C].
        Phase("maintenance", cycle_days=14, day_offsets=(0,), cycles=None, allowed_cycle_days=(7,)),
    ),
    # BP at 40 min [C] and before the end (120) [C]; 15 (sedation onset), 60, 90 [U] clinic choice (§5-6).
    vitals_schedule=VitalsSchedule(minutes=(15, 40, 60, 90, 120)),
    thresholds=Thresholds(),
    observation_minimum_minutes=120,  # ≥ 2 h from the first device at every session [C] §7
    discharge_criteria=ESKETAMINE_DISCHARGE,
    questionnaires=(QuestionnaireDue("phq-9", 0), QuestionnaireDue("cssrs-screen", 0)),
    requires_weight=False,
    requires_pregnancy_check=True,  # embryo-fetal toxicity warning [C] §5
    requires_escort=True,  # transport home arranged; patient must not drive [C] §3.4
    rems_enrollment_required=True, rems_pmf_required=True,  # [C] §8.3; clinics flip for inpatient/ED settings
    observation_floor_minutes=120,
    required_vitals_minutes=(40,),
    sources=("esketamine-and-rems.md §1, §3.1, §3.4, §5, §6, §7, §8.3", "evidence.md §6"),
)

ESKETAMINE_MDSI = dataclasses.replace(
    ESKETAMINE_TRD,
    key="esketamine-mdsi",
    title="Esketamine nasal spray (SPRAVATO), MDD with acute suicidal ideation or behavior",
    # 84 mg twice weekly; may drop to 56 mg for tolerability [C] §3.2.
    dose_rule=DeviceDoseRule(allowed_doses_mg=(Decimal(56), Decimal(84)), first_dose_mg=Decimal(84)),
    # 4 weeks twice weekly (8 doses), then evaluate; use beyond 4 weeks not systematically evaluated [C] §3.2.
    phases=(Phase("induction", cycle_days=7, day_offsets=(0, 3), cycles=4),),
    # Suicide items at 24 h (evidence.md §6, Wilkinson day 1).
    questionnaires=(QuestionnaireDue("phq-9", 0), QuestionnaireDue("cssrs-screen", 0),
                    QuestionnaireDue("cssrs-screen", 24)),
    sources=("esketamine-and-rems.md §1, §3.2, §3.4, §5, §6, §7, §8.3", "evidence.md §6"),
)

PSYCHOTHERAPY_INTEGRATION = Protocol(
    key="psychotherapy-integration", version="1", title="Adjunct psychotherapy / integration session",
    route=Route.NONE, dose_rule=None,
    # [U] placeholder: weekly, number set per course. No source in the domain files gives a schedule.
    phases=(Phase("integration", cycle_days=7, day_offsets=(0,), cycles=None, allowed_cycle_days=(14,)),),
    vitals_schedule=VitalsSchedule(minutes=()),
    thresholds=Thresholds(),
    observation_minimum_minutes=0,
    discharge_criteria=(),
    questionnaires=(QuestionnaireDue("phq-9", 0), QuestionnaireDue("gad-7", 0)),
    requires_weight=False, requires_pregnancy_check=False, requires_escort=False,
    rems_enrollment_required=False, rems_pmf_required=False,
    baseline_vitals_required=(),
    sources=("evidence.md §6",),
)

DEFAULT_PROTOCOLS: dict[str, Protocol] = {p.ref: p for p in (
    IV_KETAMINE_INDUCTION, IV_KETAMINE_MAINTENANCE, ESKETAMINE_TRD, ESKETAMINE_MDSI, PSYCHOTHERAPY_INTEGRATION)}


# ---- Clinic overrides stored as JSON ------------------------------------------------------------------------

def _coerce(name: str, current: Any, value: Any) -> Any:
    """A JSON value in the type of the field it replaces (Decimal as string, tuples as lists)."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ProtocolInvalid(f"{name}: expected true or false")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolInvalid(f"{name}: expected a whole number")
        return value
    if isinstance(current, Decimal):
        try:
            result = Decimal(str(value))
        except ArithmeticError:
            raise ProtocolInvalid(f"{name}: expected a number") from None
        if isinstance(value, bool) or not result.is_finite():
            raise ProtocolInvalid(f"{name}: expected a number")
        return result
    if isinstance(current, str):
        if not isinstance(value, str) or not value.strip():
            raise ProtocolInvalid(f"{name}: expected text")
        return value.strip()
    if isinstance(current, QuestionnaireDue):
        if not isinstance(value, dict) or set(value) != {"instrument", "offset_hours"}:
            raise ProtocolInvalid(f"{name}: expected {{instrument, offset_hours}}")
        return QuestionnaireDue(_coerce(name, "", value["instrument"]), _coerce(name, 0, value["offset_hours"]))
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple):
            raise ProtocolInvalid(f"{name}: expected a list")
        sample = current[0] if current else _EMPTY_TUPLE_SAMPLES.get(name.rsplit(".", 1)[-1], 0)
        return tuple(_coerce(name, sample, v) for v in value)
    raise ProtocolInvalid(f"{name} cannot be set by a clinic")


# Element type of tuple fields that may be empty in a shipped protocol.
_EMPTY_TUPLE_SAMPLES: dict[str, Any] = {"minutes": 0, "questionnaires": QuestionnaireDue("x", 0),
                                        "discharge_criteria": "x", "baseline_vitals_required": "x"}


def overrides_from_json(protocol: Protocol, data: dict[str, Any]) -> Protocol:
    """`with_overrides` for values stored as JSON: {"thresholds": {"spo2_alert_below_pct": 94}, ...}."""
    values: dict[str, Any] = {}
    for name, value in data.items():
        if not hasattr(protocol, name):
            raise ProtocolInvalid(f"unknown protocol fields: ['{name}']")
        current = getattr(protocol, name)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            nested = {f.name for f in dataclasses.fields(current)}
            values[name] = {k: _coerce(f"{name}.{k}", getattr(current, k), v) if k in nested else v
                            for k, v in value.items()}
        else:
            values[name] = _coerce(name, current, value)
    return with_overrides(protocol, **values)


def overrides_to_json(base: Protocol, changed: Protocol) -> dict[str, Any]:
    """Only what differs from `base`, in the JSON shape `overrides_from_json` reads."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, QuestionnaireDue):
            return {"instrument": value.instrument, "offset_hours": value.offset_hours}
        return value

    out: dict[str, Any] = {}
    for f in dataclasses.fields(Protocol):
        if f.name in FIXED_FIELDS or f.name == "overridden":
            continue
        old, new = getattr(base, f.name), getattr(changed, f.name)
        if old == new:
            continue
        if dataclasses.is_dataclass(old) and type(old) is type(new):
            out[f.name] = {g.name: plain(getattr(new, g.name)) for g in dataclasses.fields(old)
                           if getattr(old, g.name) != getattr(new, g.name)}
        else:
            out[f.name] = plain(new)
    return out
